"""Two-way SMS: what a phone sends to the reply number, after KPN's webhook delivered it.

`smsbot.kpn.inbound_route` (the surface) reads KPN's payload and hands it to `InboundService`,
which stores it (once per message_id, rate-limited per phone) and then offers it to an ordered
list of reply handlers (`ReplyHandler`): the first that takes it wins. The thread-reply handler
(`smsbot.inbound.threads.ThreadReplies`), which posts the reply into the Slack conversation
it answers, is always the last.
"""

from smsbot.inbound.handlers import Disposition, InboundMessage, ReplyHandler
from smsbot.inbound.service import InboundService, Received

__all__ = ["Disposition", "InboundMessage", "InboundService", "Received", "ReplyHandler"]
