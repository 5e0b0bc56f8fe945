// The list of messages from the robot: newest first, bounded, each with its
// time; an object is also shown as a compact key/value table (nested values
// as compact JSON), so a telemetry stream reads at a glance.

const MAX_ENTRIES = 200;
const MAX_ROWS = 12; // keys shown per object; the rest are in the raw text

function parseObject(text) {
  if (!text.startsWith("{")) {
    return null;
  }
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function table(object) {
  const t = document.createElement("table");
  t.className = "kv";
  t.setAttribute("aria-hidden", "true"); // the raw text beside it says the same
  for (const [key, value] of Object.entries(object).slice(0, MAX_ROWS)) {
    const row = t.insertRow();
    const k = document.createElement("th");
    k.scope = "row";
    k.textContent = key;
    const v = row.insertCell();
    v.textContent = typeof value === "string" ? value : JSON.stringify(value);
    row.prepend(k);
  }
  return t;
}

/** Adds one message at the top of @list and drops the oldest past the bound. */
export function logMessage(list, data) {
  const text = typeof data === "string" ? data : `<${data.byteLength || data.size || 0} bytes of binary>`;
  const item = document.createElement("li");
  const time = document.createElement("time");
  const now = new Date();
  time.dateTime = now.toISOString();
  time.textContent = now.toLocaleTimeString([], { hour12: false });
  const body = document.createElement("code");
  body.textContent = text;
  const object = typeof data === "string" ? parseObject(text) : null;
  if (object) {
    const wrap = document.createElement("div");
    wrap.className = "entry";
    body.classList.add("raw");
    wrap.append(table(object), body);
    item.append(time, wrap);
  } else {
    item.append(time, body);
  }
  list.prepend(item);
  while (list.childElementCount > MAX_ENTRIES) {
    list.lastElementChild.remove();
  }
}
