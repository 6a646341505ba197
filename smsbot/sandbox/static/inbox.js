// The sandbox inbox: polls GET /sandbox/messages every 2 s and shows the newest first.
// Every value from a message is put in with textContent, never as HTML: the content is
// whatever a client sent, and must not be able to run in this page.
"use strict";

const POLL_MS = 2000;
let shownKey = null;

function formatNumber(e164) {
  // +31612345678 -> +31 6 12345678, +3197012345678 -> +31 970 12345678
  const m = /^\+31(6|97\d)(\d+)$/.exec(e164);
  return m ? `+31 ${m[1]} ${m[2]}` : e164;
}

function renderMessage(template, message) {
  const item = template.content.firstElementChild.cloneNode(true);
  item.querySelector(".sender").textContent = message.sender;
  item.querySelector(".number").textContent = `to ${formatNumber(message.mobile_number)}`;
  item.querySelector(".bubble").textContent = message.content;
  const encoding = item.querySelector(".encoding");
  const forcedBy = message.ucs2_characters || [];
  encoding.textContent =
    forcedBy.length > 0 ? `${message.encoding} (because of ${forcedBy.join(" ")})` : message.encoding;
  encoding.classList.toggle("ucs2", message.encoding === "UCS-2");
  item.querySelector(".parts").textContent =
    message.segments === 1 ? "1 part" : `${message.segments} parts`;
  const time = item.querySelector(".time");
  const received = new Date(message.received_at);
  time.dateTime = message.received_at;
  time.title = message.received_at;
  time.textContent = received.toLocaleString();
  item.querySelector(".document-id").textContent = message.document_id;
  return item;
}

function render(messages) {
  // Re-render only when the inbox changed, so reading or selecting text is not disturbed.
  const last = messages.length ? messages[messages.length - 1].document_id : "";
  const key = `${messages.length}:${last}`;
  if (key === shownKey) return;
  shownKey = key;

  const list = document.getElementById("messages");
  const template = document.getElementById("message-template");
  const items = messages.slice().reverse().map((m) => renderMessage(template, m));
  list.replaceChildren(...items);
  document.getElementById("empty").hidden = messages.length > 0;
  document.getElementById("count").textContent =
    messages.length === 1 ? "1 message" : `${messages.length} messages`;
}

function setStatus(text, state) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = `status ${state}`;
}

async function poll() {
  try {
    const response = await fetch("/sandbox/messages", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    setStatus("live", "live");
  } catch (error) {
    setStatus(`sandbox unreachable (${error.message})`, "down");
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

async function clearInbox() {
  await fetch("/sandbox/messages", { method: "DELETE" });
  shownKey = null;
  render([]);
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("base-url").textContent = window.location.origin;
  document.getElementById("clear").addEventListener("click", clearInbox);
  poll();
});
