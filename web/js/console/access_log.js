// The access log (GET /api/access-log), for the segretario and the administrator:
// every view of a record page, playback start, download, signature and deletion,
// newest first, optionally of one session (#/access-log?session=<id>).

import "./archive_texts.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { dateTimeText } from "../meeting/labels.js";
import { api, apiErrorText } from "./api.js";

const PAGE = 100;

export function accessQuery(hash) {
  const i = hash.indexOf("?");
  return new URLSearchParams(i < 0 ? "" : hash.slice(i + 1)).get("session") ?? "";
}

export async function showAccessLog(root, session, ctx) {
  const input = h("input", { type: "search", testid: "access-session", placeholder: t("access.session.placeholder"), maxlength: "200" });
  input.value = session;
  const form = h("form", { class: "inline-form card" },
    h("label", { class: "sr-only", for: "access-session-input" }, t("access.session")), input,
    h("button", { type: "submit", testid: "access-show" }, t("access.show")));
  input.id = "access-session-input";
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = input.value.trim();
    ctx.go(v ? `#/access-log?session=${encodeURIComponent(v)}` : "#/access-log");
  });
  const tbody = h("tbody");
  const table = h("table", { class: "data", testid: "access-log" },
    h("thead", null, h("tr", null,
      ["access.col.when", "access.col.who", "access.col.action", "access.col.object", "access.col.session", "access.col.detail"]
        .map((k) => h("th", { scope: "col" }, t(k))))),
    tbody);
  const more = h("button", { type: "button", testid: "access-more", hidden: true }, t("access.more"));
  const empty = h("p", { class: "muted", testid: "access-empty", hidden: true }, t("access.none"));
  root.replaceChildren(
    h("div", { class: "page-head" }, h("h1", null, t("access.title"))),
    h("p", { class: "muted" }, t("access.intro")),
    form, table, empty, more);
  let before = null;
  const load = async () => {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (session) params.set("session", session);
    if (before !== null) params.set("before", String(before));
    let entries;
    try {
      entries = await api("GET", `/api/access-log?${params}`);
    } catch (e) {
      ctx.error(apiErrorText(e));
      return;
    }
    for (const e of entries) tbody.append(row(e));
    if (entries.length) before = entries[entries.length - 1].id;
    more.hidden = entries.length < PAGE;
    empty.hidden = tbody.children.length > 0;
    table.hidden = tbody.children.length === 0;
  };
  more.addEventListener("click", load);
  await load();
}

function row(e) {
  return h("tr", { testid: `access-row-${e.id}`, "data-action": e.action, "data-object": e.object, "data-user": e.staff_username },
    h("td", null, dateTimeText(e.at_ms)),
    h("td", null, e.staff_username),
    h("td", null, t(`access.action.${e.action}`)),
    h("td", null, h("code", null, e.object)),
    h("td", null, e.session_id ? h("a", { href: `#/archive/${encodeURIComponent(e.session_id)}` }, e.session_id) : ""),
    h("td", { class: "detail" }, detailText(e)),
  );
}

function detailText(e) {
  if (!e.detail) return "";
  try {
    const d = JSON.parse(e.detail);
    if (d && typeof d === "object" && d.reason !== undefined) {
      const files = (d.files ?? []).map((f) => `${f.name} (${f.size} B, SHA-256 ${f.sha256})`).join("; ");
      return `${d.reason} — ${files}`;
    }
  } catch {
    // Plain text.
  }
  return e.detail;
}
