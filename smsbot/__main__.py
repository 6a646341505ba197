from smsbot.cli.main import main

raise SystemExit(main())
