"use strict";
// The live plant view's script. Tiles come from the server-sent events of live/events (a snapshot, then each changed
// tile and gateway); the colours are the server's, judged by the loaded rules. Every text from the server goes into
// the page through textContent, never as HTML.
const TEXT = {
  vi: {
    title: "Nhà máy trực tiếp", alerts: "Cảnh báo", langName: "Tiếng Việt", other: "en", close: "Đóng",
    aquaculture: "Nuôi tôm", factory: "Nhà máy thép", port: "Cảng",
    level: { critical: "Nguy cấp", warning: "Cảnh báo", ok: "Bình thường", unknown: "Chưa rõ" },
    quality: { bad: "lỗi", stale: "cũ", "comm-failure": "mất liên lạc" },
    gwState: { online: "Trực tuyến", offline: "Mất kết nối", unknown: "Chưa rõ" },
    queue: n => `hàng đợi ${n}`, oldest: a => `chưa gửi từ ${a}`, nothingUnsent: "đã gửi hết",
    completeness: p => `đầy đủ ${p}`, lastReading: a => `số liệu mới nhất ${a}`,
    more: n => `${n} thông số khác`, never: "chưa có số liệu",
    ago: s => s < 60 ? `${s} giây trước` : s < 3600 ? `${Math.floor(s / 60)} phút trước` : s < 86400 ? `${Math.floor(s / 3600)} giờ trước` : `${Math.floor(s / 86400)} ngày trước`,
    live: t => `Đang nhận trực tiếp · ${t}`, connecting: "Đang kết nối…",
    offline: "Mất kết nối máy chủ; đang thử lại. Số liệu đang hiển thị có thể đã cũ.",
    empty: "Chưa có thiết bị nào gửi số liệu.",
    hist: "Lịch sử", r1h: "1 giờ", r24h: "24 giờ", r7d: "7 ngày",
    source: (s, n) => `Nguồn: ${s} · ${n} điểm`, loadingHistory: "Đang tải…", noData: "Không có số liệu trong khoảng này.",
    historyFailed: e => `Không tải được lịch sử: ${e}`,
    on: "BẬT", off: "TẮT", at: "lúc", auto: "tự động", gatewayItself: "gateway tự thực hiện", readBack: v => `đọc lại ${v}`,
    expired: "hết hạn, gateway không trả lời",
    command: { sent: "đang chờ gateway", undelivered: "gateway không nhận lệnh", "not-sent": "không gửi được",
               done: "đã thực hiện", refused: "bị từ chối", failed: "thất bại" },
  },
  en: {
    title: "Live plant", alerts: "Alerts", langName: "English", other: "vi", close: "Close",
    aquaculture: "Shrimp farms", factory: "Steel plant", port: "Port",
    level: { critical: "Critical", warning: "Warning", ok: "Normal", unknown: "Unknown" },
    quality: { bad: "bad", stale: "stale", "comm-failure": "no answer" },
    gwState: { online: "Online", offline: "Offline", unknown: "Unknown" },
    queue: n => `queue ${n}`, oldest: a => `unsent since ${a}`, nothingUnsent: "nothing unsent",
    completeness: p => `complete ${p}`, lastReading: a => `latest reading ${a}`,
    more: n => `${n} more signals`, never: "no readings yet",
    ago: s => s < 60 ? `${s} s ago` : s < 3600 ? `${Math.floor(s / 60)} min ago` : s < 86400 ? `${Math.floor(s / 3600)} h ago` : `${Math.floor(s / 86400)} d ago`,
    live: t => `Live · ${t}`, connecting: "Connecting…",
    offline: "Lost the server; reconnecting. What is shown may be out of date.",
    empty: "No device has sent readings yet.",
    hist: "History", r1h: "1 h", r24h: "24 h", r7d: "7 d",
    source: (s, n) => `Source: ${s} · ${n} points`, loadingHistory: "Loading…", noData: "No data in this range.",
    historyFailed: e => `History not loaded: ${e}`,
    on: "ON", off: "OFF", at: "at", auto: "automatic", gatewayItself: "by the gateway itself", readBack: v => `read back ${v}`,
    expired: "expired, the gateway did not answer",
    command: { sent: "waiting for the gateway", undelivered: "the gateway takes no commands", "not-sent": "not sent",
               done: "done", refused: "refused", failed: "failed" },
  },
};
const LOCALE = { vi: "vi-VN", en: "en-GB" };
// The points a rule may set (device profiles' writable points), as people call them; others show their id.
const POINTS = {
  backup_aerator_on: { vi: "Máy sục dự phòng", en: "Backup aerator" },
};
const PILOTS = ["aquaculture", "factory", "port"];
const RANGES = ["1h", "24h", "7d"];
const TREND_MS = 30 * 60 * 1000;      // sparklines: the last 30 minutes
const SILENCE_MS = 45 * 1000;         // the server sends a heartbeat every 15 s; three missed ones mean a dead link
const store = {
  get(key) { try { return localStorage.getItem(key); } catch { return null; } },
  set(key, value) { try { localStorage.setItem(key, value); } catch { /* private mode: not remembered */ } },
};

let lang = store.get("pilots.lang") === "en" ? "en" : "vi";
const devices = new Map();   // tile key -> device view
const gateways = new Map();  // gateway key -> gateway view
const trends = new Map();    // tile key -> Map(field -> [[t, v], ...])
const openDetails = new Set();
let clockOffset = 0;         // server clock - this clock, from the snapshot and heartbeats
let source = null, lastEvent = 0, connected = false, seeded = false, dirty = true;
let hist = null;          // { key, field, range }

const $ = id => document.getElementById(id);
const t = () => TEXT[lang];
const now = () => Date.now() + clockOffset;

/** Builds an element; strings among the children become text nodes, so nothing from the server is parsed as HTML. */
function h(tag, attrs, ...children) {
  const el = tag.startsWith("svg:") ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v); else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

function number(v) {
  if (v === null || v === undefined) return "—";
  return new Intl.NumberFormat(LOCALE[lang], { maximumFractionDigits: Math.abs(v) >= 100 ? 1 : 2 }).format(v);
}

// The ISO 10816 zone is a derived signal numbered 1-4 (rules/default.yaml, iso_zone); people read it as A-D.
function reading(v, u) { return u === "zone" && v >= 1 && v <= 4 ? "ABCD"[Math.round(v) - 1] : number(v) + unit(u); }
function isoZone(d) { const z = d.fields.find(f => f.unit === "zone" && f.value >= 1 && f.value <= 4 && f.quality === "good"); return z ? "ABCD"[Math.round(z.value) - 1] : null; }
function unit(u) { return !u || u === "count" || u === "bool" ? "" : " " + (u === "degC" ? "°C" : u); }

function ago(ms) { return ms ? t().ago(Math.max(0, Math.round((now() - ms) / 1000))) : t().never; }

function percent(p) { return new Intl.NumberFormat(LOCALE[lang], { style: "percent", maximumFractionDigits: 1 }).format(p); }

// --- the stream -------------------------------------------------------------------------------------------------

function connect() {
  if (source) source.close();
  source = new EventSource("live/events");
  lastEvent = Date.now();
  source.addEventListener("snapshot", e => {
    const s = JSON.parse(e.data);
    clockOffset = s.now - Date.now();
    devices.clear(); gateways.clear();
    for (const d of s.devices) { devices.set(d.key, d); extendTrend(d); }
    for (const g of s.gateways) gateways.set(g.key, g);
    heard(); render();
    if (!seeded) seedTrends();
  });
  source.addEventListener("device", e => { const d = JSON.parse(e.data); devices.set(d.key, d); extendTrend(d); heard(); renderTile(d); });
  source.addEventListener("gateway", e => { const g = JSON.parse(e.data); const had = gateways.has(g.key); gateways.set(g.key, g); heard(); if (had) renderGateway(g); else dirty = true; });
  source.addEventListener("heartbeat", e => { clockOffset = JSON.parse(e.data).now - Date.now(); heard(); });
  source.onerror = () => {
    connected = false; renderStatus();
    // EventSource retries by itself unless the server refused the stream; then start again here.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
  };
}

function heard() { lastEvent = Date.now(); if (!connected) { connected = true; renderStatus(); } }

// A link that dies without closing never fires onerror: no heartbeat for a while means reconnect.
setInterval(() => { if (Date.now() - lastEvent > SILENCE_MS) { connected = false; renderStatus(); connect(); } }, 5000);

/** Sparklines start from InfluxDB's last 30 minutes when the page opens; the stream extends them. */
async function seedTrends() {
  seeded = true;
  try {
    const response = await fetch("live/api/trends", { cache: "no-store" });
    if (!response.ok) return;
    const body = await response.json();
    for (const [key, fields] of Object.entries(body)) {
      const mine = trends.get(key) || new Map();
      for (const [field, points] of Object.entries(fields)) {
        const streamed = mine.get(field) || [];
        const first = streamed.length ? streamed[0][0] : Infinity;
        mine.set(field, [...points.filter(p => p[0] < first), ...streamed]);
      }
      trends.set(key, mine);
    }
    dirty = true;
  } catch { /* drawn from the stream alone */ }
}

function extendTrend(d) {
  const mine = trends.get(d.key) || new Map();
  trends.set(d.key, mine);
  const cut = now() - TREND_MS;
  for (const f of d.fields) {
    if (f.quality !== "good" || f.value === null) continue;
    const points = mine.get(f.field) || [];
    if (!points.length || points[points.length - 1][0] < f.at) points.push([f.at, f.value]);
    while (points.length && (points[0][0] < cut || points.length > 1200)) points.shift();
    mine.set(f.field, points);
  }
}

// --- rendering --------------------------------------------------------------------------------------------------

function renderStatus() {
  const status = $("status");
  if (connected) { status.dataset.state = "ok"; status.textContent = t().live(new Date(now()).toLocaleTimeString(LOCALE[lang], { hour12: false })); }
  else if (devices.size) { status.dataset.state = "offline"; status.textContent = t().offline; }
  else { status.dataset.state = "loading"; status.textContent = t().connecting; }
}

function sparkline(points, limits) {
  const svg = h("svg:svg", { viewBox: "0 0 120 30", preserveAspectRatio: "none", "aria-hidden": "true", "data-testid": "sparkline" });
  svg.append(h("svg:title", {}, "30 min"));
  if (!points || points.length < 2) return svg;
  const t1 = now(), t0 = t1 - TREND_MS;
  let lo = Math.min(...points.map(p => p[1])), hi = Math.max(...points.map(p => p[1]));
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const x = ms => ((ms - t0) / TREND_MS * 120).toFixed(1);
  const y = v => (28 - (v - lo) / (hi - lo) * 26).toFixed(1);
  for (const l of limits || []) {
    const v = l.below ?? l.above;
    if (v >= lo && v <= hi) svg.append(h("svg:line", { x1: 0, x2: 120, y1: y(v), y2: y(v), class: `lim-${l.level}` }));
  }
  svg.append(h("svg:polyline", { class: "spark", points: points.filter(p => p[0] >= t0).map(p => `${x(p[0])},${y(p[1])}`).join(" ") }));
  return svg;
}

function signalRow(d, f, withTrend) {
  const q = f.quality !== "good" ? h("span", { class: "q", "data-testid": "quality" }, t().quality[f.quality] || f.quality) : null;
  return h("div", { class: "sig", "data-testid": "signal", "data-field": f.field, "data-level": f.level, "data-quality": f.quality },
    h("span", { class: "f", title: f.field }, f.field),
    h("span", { class: "v", "data-testid": "value" }, reading(f.value, f.unit), q),
    withTrend ? sparkline((trends.get(d.key) || new Map()).get(f.field), f.limits) : null);
}

function tileElement(d) {
  // At most three signals in front, the worst first: the tiles of a whole plant must fit a wall screen.
  const rank = { critical: 0, warning: 1, ok: 2, unknown: 3 };
  const key = d.fields.filter(f => f.key).sort((a, b) => rank[a.level] - rank[b.level]);
  const main = (key.length ? key : d.fields).slice(0, 3);
  const rest = d.fields.filter(f => !main.includes(f));
  const details = rest.length ? h("details", { "data-key": d.key, ontoggle: e => { if (e.target.open) openDetails.add(d.key); else openDetails.delete(d.key); } },
    h("summary", { onclick: e => e.stopPropagation() }, t().more(rest.length)), rest.map(f => signalRow(d, f, false))) : null;
  if (details && openDetails.has(d.key)) details.open = true;
  const zone = isoZone(d);
  const alerts = d.alerts.length ? h("ul", { class: "alerts", "data-testid": "tile-alerts" },
    d.alerts.map(a => h("li", { class: `sev-${a.severity}`, lang }, a.message[lang] || a.rule))) : null;
  return h("article", {
    class: "tile", "data-testid": "tile", "data-key": d.key, "data-device": d.device, "data-level": d.level, tabindex: "0", role: "button",
    onclick: () => openHistory(d.key), onkeydown: e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openHistory(d.key); } },
  },
  h("div", { class: "t-head" },
    h("span", { class: "t-name" }, d.device),
    h("span", { class: `badge lv-${d.level}`, "data-testid": "tile-level" }, t().level[d.level]),
    zone ? h("span", { class: `badge iso iso-${zone}`, "data-testid": "iso-zone", title: "ISO 10816-3" }, `ISO ${zone}`) : null,
    h("span", { class: "age", "data-testid": "age", "data-at": String(d.at || 0) }, ago(d.at)),
    h("span", { class: "t-site" }, `${d.site} · ${d.gateway}`)),
  alerts, d.lastAction ? actionElement(d.lastAction) : null, main.map(f => signalRow(d, f, true)), details);
}

/** The last automatic action on the device: "Máy sục dự phòng: BẬT lúc 02:07 (tự động) · đã thực hiện, đọc lại 1". */
function actionElement(a) {
  const name = (POINTS[a.point] && POINTS[a.point][lang]) || a.point;
  // Switches (points named *_on) read as on/off; other points show their value.
  const value = /_on$/.test(a.point) ? (a.value ? t().on : t().off) : number(a.value);
  const at = new Date(a.at).toLocaleTimeString(LOCALE[lang], { hour: "2-digit", minute: "2-digit", hour12: false });
  const who = a.issuedBy.startsWith("gateway:") ? t().gatewayItself : t().auto;
  // Unanswered past its expiry, a command never runs: the gateway refuses it when it sees it.
  const state = a.state === "sent" && !a.answeredAt && a.expiresAt < now() ? "expired" : a.state;
  let outcome = state === "expired" ? t().expired : (t().command[state] || state);
  if (a.reason && state !== "done") outcome += `: ${a.reason}`;
  if (a.readBack !== null && a.readBack !== undefined) outcome += `, ${t().readBack(number(a.readBack))}`;
  return h("p", { class: `t-action st-${state}`, "data-testid": "tile-action", "data-state": state, "data-point": a.point, lang, title: a.issuedBy },
    `${name}: ${value} ${t().at} ${at} (${who}) · ${outcome}`);
}

function gatewayElement(g) {
  const figs = [t().queue(g.queue ?? "—"), g.oldestUnsent ? t().oldest(ago(g.oldestUnsent)) : t().nothingUnsent];
  if (g.completeness !== null && g.completeness !== undefined) figs.push(t().completeness(percent(g.completeness)));
  if (g.lastReading) figs.push(t().lastReading(ago(g.lastReading)));
  return h("li", { class: "gw", "data-testid": "gateway", "data-key": g.key, "data-gateway": g.gateway, "data-state": g.state },
    h("span", { class: "name" }, g.gateway), h("span", { class: "state", "data-testid": "gateway-state" }, t().gwState[g.state] || g.state),
    h("span", { class: "t-site" }, ` · ${g.site}`),
    h("div", { class: "figs", "data-testid": "gateway-figures" }, figs.join(" · ")));
}

function renderTile(d) {
  const old = document.querySelector(`[data-testid=tile][data-key="${CSS.escape(d.key)}"]`);
  if (old) old.replaceWith(tileElement(d)); else dirty = true;
}

function renderGateway(g) {
  const old = document.querySelector(`[data-testid=gateway][data-key="${CSS.escape(g.key)}"]`);
  if (old) old.replaceWith(gatewayElement(g)); else dirty = true;
}

/** The whole plant: per pilot, its gateways, then its tiles (site by site). */
function render() {
  dirty = false;
  const main = $("plant");
  const sections = [];
  const pilotOf = new Map([...devices.values()].map(d => [d.gateway, d.pilot]));
  for (const pilot of PILOTS) {
    const mine = [...devices.values()].filter(d => d.pilot === pilot);
    const gws = [...gateways.values()].filter(g => (g.pilot || pilotOf.get(g.key)) === pilot);
    if (!mine.length && !gws.length) continue;
    sections.push(h("section", { class: "pilot", "data-testid": "pilot", "data-pilot": pilot },
      h("div", { class: "pilot-head" }, h("h2", {}, t()[pilot]),
        h("ul", { class: "gateways" }, gws.sort((a, b) => a.gateway.localeCompare(b.gateway)).map(gatewayElement))),
      h("div", { class: "tiles" }, mine.sort((a, b) => a.site.localeCompare(b.site) || a.device.localeCompare(b.device)).map(tileElement))));
  }
  // Gateways whose pilot is not known yet (a status before any reading) are listed last.
  const orphans = [...gateways.values()].filter(g => !PILOTS.includes(g.pilot || pilotOf.get(g.key)));
  if (orphans.length) sections.push(h("section", { class: "pilot" }, h("ul", { class: "gateways" }, orphans.map(gatewayElement))));
  if (!sections.length) sections.push(h("p", { class: "empty" }, connected ? t().empty : t().connecting));
  main.replaceChildren(...sections);
}

// "... ago" moves on every second without a re-render; the whole page is rebuilt only when tiles come or go.
setInterval(() => {
  if (dirty) render();
  for (const el of document.querySelectorAll("[data-testid=age]")) el.textContent = ago(Number(el.dataset.at));
  if (connected) renderStatus();
}, 1000);

// --- history ----------------------------------------------------------------------------------------------------

function openHistory(key) {
  const d = devices.get(key);
  if (!d) return;
  const key0 = d.fields.find(f => f.key) || d.fields[0];
  if (!key0) return;
  hist = { key, field: key0.field, range: "1h" };
  const select = $("h-field");
  select.replaceChildren(...d.fields.map(f => h("option", { value: f.field }, f.field)));
  select.value = hist.field;
  $("h-title").textContent = `${t().hist} · ${d.device} (${d.site})`;
  if (!$("history").open) $("history").showModal();
  loadHistory();
}

function renderRanges() {
  $("h-ranges").replaceChildren(...RANGES.map(r => h("button", {
    type: "button", "data-testid": `range-${r}`, "aria-pressed": String(hist && hist.range === r),
    onclick: () => { hist.range = r; loadHistory(); },
  }, t()[`r${r}`])));
}

async function loadHistory() {
  renderRanges();
  const want = { ...hist };
  const d = devices.get(want.key);
  $("h-note").textContent = t().loadingHistory;
  const q = new URLSearchParams({ site: d.site, gateway: d.gateway, device: d.device, field: want.field, range: want.range });
  try {
    const response = await fetch(`live/api/history?${q}`, { cache: "no-store" });
    const body = await response.json();
    if (JSON.stringify(want) !== JSON.stringify(hist)) return;
    if (!response.ok) { $("h-note").textContent = t().historyFailed(body.detail || response.status); $("h-chart").replaceChildren(); return; }
    $("h-note").dataset.source = body.source;
    $("h-note").textContent = body.points.length ? t().source(body.source, body.points.length) : t().noData;
    $("h-chart").replaceChildren(chart(body));
  } catch (e) {
    $("h-note").textContent = t().historyFailed(String(e));
  }
}

/** The chart: the mean as a line, min..max as a band, the rules' limits dashed, time along the bottom. */
function chart(body) {
  const W = 900, H = 300, L = 56, B = 24;
  const svg = h("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "data-testid": "history-svg" });
  const p = body.points;
  if (!p.length) return svg;
  const t0 = p[0].t, t1 = Math.max(p[p.length - 1].t, t0 + 1);
  let lo = Math.min(...p.map(q => q.min)), hi = Math.max(...p.map(q => q.max));
  for (const l of body.limits || []) { const v = l.below ?? l.above; if (v > lo - (hi - lo) && v < hi + (hi - lo)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const x = ms => (L + (ms - t0) / (t1 - t0) * (W - L - 8)).toFixed(1);
  const y = v => (H - B - (v - lo) / (hi - lo) * (H - B - 8)).toFixed(1);
  const band = p.map(q => `${x(q.t)},${y(q.max)}`).concat(p.slice().reverse().map(q => `${x(q.t)},${y(q.min)}`)).join(" ");
  svg.append(h("svg:polygon", { class: "h-band", points: band }));
  for (const l of body.limits || []) {
    const v = l.below ?? l.above;
    if (v >= lo && v <= hi) svg.append(h("svg:line", { x1: L, x2: W - 8, y1: y(v), y2: y(v), class: `lim-${l.level}` }));
  }
  svg.append(h("svg:polyline", { class: "h-line", points: p.map(q => `${x(q.t)},${y(q.mean)}`).join(" ") }));
  for (const v of [lo, (lo + hi) / 2, hi]) svg.append(h("svg:text", { x: 4, y: Number(y(v)) + 4, class: "h-axis" }, number(v) + unit(body.unit)));
  const fmt = ms => new Date(ms).toLocaleString(LOCALE[lang], { hour12: false, day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" });
  svg.append(h("svg:text", { x: L, y: H - 6, class: "h-axis" }, fmt(t0)), h("svg:text", { x: W - 8, y: H - 6, class: "h-axis", "text-anchor": "end" }, fmt(t1)));
  return svg;
}

$("h-field").addEventListener("change", e => { hist.field = e.target.value; loadHistory(); });
$("h-close").addEventListener("click", () => $("history").close());
$("history").addEventListener("close", () => { hist = null; });

// --- language ---------------------------------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = lang;
  document.title = `${t().title} · IoT Pilots`;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t()[el.dataset.i18n];
  const other = TEXT[t().other];
  $("lang").textContent = other.langName;
  $("lang").lang = t().other;
  renderStatus();
  render();
  if (hist) { renderRanges(); loadHistory(); }
}

$("lang").addEventListener("click", () => { lang = t().other; store.set("pilots.lang", lang); applyLanguage(); });

applyLanguage();
connect();
