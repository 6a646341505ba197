// The sandbox inbox: one card per phone, its conversation as a phone shows it (SMS it got on
// the left, its replies on the right), each SMS with its delivery state and a reply box.
// Polls GET /sandbox/messages and GET /sandbox/inbound every second.
// Every value from a message is put in with textContent, never as HTML: the content is
// whatever a client sent, and must not be able to run in this page.
"use strict";

const POLL_MS = 1000;
const cards = new Map(); // phone (E.164) -> {root, thread, summary, key}
let shownData = null;

function formatNumber(e164) {
  // +31612345678 -> +31 6 12345678, +3197012345678 -> +31 970 12345678
  const m = /^\+?31(6|97\d)(\d+)$/.exec(e164);
  return m ? `+31 ${m[1]} ${m[2]}` : e164;
}

function formatTime(iso) {
  return new Date(iso).toLocaleTimeString();
}

function fill(item, selector, text) {
  item.querySelector(selector).textContent = text;
}

// What the sender of an SMS sees of it: the delivery reports' verdict.
function deliveryText(message) {
  const error = message.delivery_error;
  const reason = error ? `${error.meaning} (${error.code})` : "";
  switch (message.delivery) {
    case "delivered":
      return `✓ Delivered ${formatTime(message.delivered_at)}`;
    case "failed":
      return `✗ Not delivered: ${reason}`;
    case "expired":
      return `✗ Expired: ${reason}`;
    case "rejected":
      return `✗ Rejected: ${reason}`;
    case "accepted":
    case "queued":
      return "Sent";
    default:
      return message.webhook_url ? "Sent" : "Sent (no webhook_url: no delivery reports)";
  }
}

// How the post of a reply to the inbound webhook went.
function webhookText(webhook) {
  const answered = webhook.status ? `answered ${webhook.status}` : webhook.error || "no answer";
  switch (webhook.state) {
    case "posted":
      return "✓ Delivered to the webhook";
    case "retrying":
      return `Webhook ${answered}; trying again (attempt ${webhook.attempts})`;
    case "refused":
      return `✗ Webhook refused it (${answered})`;
    case "gave_up":
      return `✗ Not delivered: webhook ${answered} ${webhook.attempts} times`;
    default:
      return "Sending…";
  }
}

function renderReceived(message) {
  const item = document.getElementById("received-template").content.firstElementChild.cloneNode(true);
  fill(item, ".from", formatNumber(message.sender));
  fill(item, ".bubble", message.content);
  const encoding = item.querySelector(".encoding");
  const forcedBy = message.ucs2_characters || [];
  encoding.textContent =
    forcedBy.length > 0 ? `${message.encoding} (because of ${forcedBy.join(" ")})` : message.encoding;
  encoding.classList.toggle("ucs2", message.encoding === "UCS-2");
  fill(item, ".parts", message.segments === 1 ? "1 part" : `${message.segments} parts`);
  const time = item.querySelector(".time");
  time.dateTime = message.received_at;
  time.title = message.received_at;
  time.textContent = new Date(message.received_at).toLocaleString();
  const delivery = item.querySelector(".delivery");
  delivery.textContent = deliveryText(message);
  item.dataset.delivery = message.delivery || "sent";
  delivery.dataset.state = item.dataset.delivery;
  fill(item, ".document-id", message.document_id);
  return item;
}

function renderSent(reply) {
  const item = document.getElementById("sent-template").content.firstElementChild.cloneNode(true);
  fill(item, ".bubble", reply.content);
  fill(item, ".to", `to ${formatNumber(reply.to)}`);
  const time = item.querySelector(".time");
  time.dateTime = reply.sent_at;
  time.title = reply.sent_at;
  time.textContent = formatTime(reply.sent_at);
  const webhook = item.querySelector(".webhook");
  webhook.textContent = webhookText(reply.webhook);
  item.dataset.webhook = reply.webhook.state;
  webhook.dataset.state = reply.webhook.state;
  return item;
}

async function sendReply(phone, card, form) {
  const textarea = form.elements.content;
  const content = textarea.value;
  if (!content.trim()) return;
  const error = card.root.querySelector(".reply-error");
  form.querySelector("button").disabled = true;
  try {
    const response = await fetch("/sandbox/inbound", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ from: phone, content }),
    });
    const answer = await response.json();
    if (!response.ok && response.status !== 202) throw new Error(answer.error || `HTTP ${response.status}`);
    textarea.value = "";
    error.hidden = true;
    await refresh();
  } catch (problem) {
    error.textContent = problem.message;
    error.hidden = false;
  } finally {
    form.querySelector("button").disabled = false;
  }
}

function cardFor(phone) {
  let card = cards.get(phone);
  if (card) return card;
  const root = document.getElementById("phone-template").content.firstElementChild.cloneNode(true);
  root.dataset.phone = phone;
  fill(root, ".number", formatNumber(phone));
  card = { root, thread: root.querySelector(".thread"), summary: root.querySelector(".summary"), key: null };
  const form = root.querySelector(".reply");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendReply(phone, card, form);
  });
  // Enter sends, Shift+Enter makes a new line, as in a phone's messaging app.
  form.elements.content.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  cards.set(phone, card);
  return card;
}

function conversations(messages, replies) {
  const byPhone = new Map();
  const add = (phone, time, item) => {
    if (!byPhone.has(phone)) byPhone.set(phone, []);
    byPhone.get(phone).push({ time, item });
  };
  for (const m of messages) add(m.mobile_number, m.received_at, { kind: "received", data: m });
  for (const r of replies) add(r.from, r.sent_at, { kind: "sent", data: r });
  for (const thread of byPhone.values()) thread.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  // The phone with the newest activity first.
  return [...byPhone.entries()].sort((a, b) => (a[1].at(-1).time < b[1].at(-1).time ? 1 : -1));
}

function render(messages, replies) {
  // Re-render only what changed, so typing a reply or selecting text is not disturbed.
  const data = JSON.stringify([messages, replies]);
  if (data === shownData) return;
  shownData = data;

  const list = document.getElementById("phones");
  const ordered = conversations(messages, replies);
  for (const [phone, thread] of ordered) {
    const card = cardFor(phone);
    const key = JSON.stringify(thread);
    if (key === card.key) continue;
    card.key = key;
    card.thread.replaceChildren(
      ...thread.map(({ item }) => (item.kind === "received" ? renderReceived(item.data) : renderSent(item.data))),
    );
    const got = thread.filter(({ item }) => item.kind === "received").length;
    const sent = thread.length - got;
    card.summary.textContent = `${got} received · ${sent} sent`;
    card.thread.scrollTop = card.thread.scrollHeight;
  }
  const wanted = new Set(ordered.map(([phone]) => phone));
  for (const phone of [...cards.keys()]) if (!wanted.has(phone)) cards.delete(phone);
  const roots = ordered.map(([phone]) => cards.get(phone).root);
  // Move cards only when the order changed: moving a card would take the focus off its reply box.
  const current = [...list.children];
  if (roots.length !== current.length || roots.some((root, i) => root !== current[i])) {
    list.replaceChildren(...roots);
  }
  document.getElementById("empty").hidden = ordered.length > 0;
  document.getElementById("count").textContent =
    `${messages.length === 1 ? "1 message" : `${messages.length} messages`}, ` +
    `${replies.length === 1 ? "1 reply" : `${replies.length} replies`}`;
}

function setStatus(text, state) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = `status ${state}`;
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

async function refresh() {
  const [messages, replies] = await Promise.all([getJson("/sandbox/messages"), getJson("/sandbox/inbound")]);
  render(messages, replies);
}

async function poll() {
  try {
    await refresh();
    setStatus("live", "live");
  } catch (error) {
    setStatus(`sandbox unreachable (${error.message})`, "down");
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

async function clearInbox() {
  await fetch("/sandbox/messages", { method: "DELETE" });
  shownData = null;
  render([], []);
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("base-url").textContent = window.location.origin;
  document.getElementById("clear").addEventListener("click", clearInbox);
  poll();
});
