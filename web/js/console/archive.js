// The clerk's archive: closed sessions searched on the server by agenda text,
// date range, organ and participant (GET /api/archive/sessions). The search is kept
// in the fragment (#/archive?q=…&from=…) so that a reload or the back button keeps it.

import "./archive_texts.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { dateTimeText } from "../meeting/labels.js";
import { api, apiErrorText } from "./api.js";

const FIELDS = ["q", "from", "to", "organ", "participant"];

// The search in the fragment, as an object.
export function archiveQuery(hash) {
  const i = hash.indexOf("?");
  const params = new URLSearchParams(i < 0 ? "" : hash.slice(i + 1));
  return Object.fromEntries(FIELDS.map((f) => [f, params.get(f) ?? ""]));
}

function queryString(query) {
  const params = new URLSearchParams();
  for (const f of FIELDS) if (query[f]) params.set(f, query[f]);
  return params.toString();
}

// ctx: {go(hash), error(text), notice(text)}
export async function showArchive(root, query, ctx) {
  root.replaceChildren(h("p", { class: "muted" }, t("staff.loading")));
  let organs = [];
  let hits;
  try {
    [organs, hits] = await Promise.all([
      api("GET", "/api/organs"),
      api("GET", `/api/archive/sessions?${queryString(query)}`),
    ]);
  } catch (e) {
    root.replaceChildren(h("h1", null, t("archive.title")));
    ctx.error(apiErrorText(e));
    hits = null;
  }
  const input = (name, attrs) => {
    const el = h("input", { name, testid: `archive-${name}`, ...attrs });
    el.value = query[name] ?? "";
    return el;
  };
  const q = input("q", { type: "search", placeholder: t("archive.q.placeholder"), maxlength: "200" });
  const from = input("from", { type: "date" });
  const to = input("to", { type: "date" });
  const participant = input("participant", { type: "search", placeholder: t("archive.participant.placeholder"), maxlength: "100" });
  const organ = h("select", { name: "organ", testid: "archive-organ" },
    h("option", { value: "" }, t("archive.organ.all")),
    organs.map((o) => h("option", { value: o.id, selected: o.id === query.organ }, o.name)));
  const reset = h("button", { type: "button", testid: "archive-reset" }, t("archive.reset"));
  reset.addEventListener("click", () => ctx.go("#/archive"));
  const form = h("form", { class: "form card archive-search", role: "search", testid: "archive-form" },
    h("label", null, h("span", null, t("archive.q")), q),
    h("div", { class: "form-row" },
      h("label", null, h("span", null, t("archive.from")), from),
      h("label", null, h("span", null, t("archive.to")), to),
      h("label", null, h("span", null, t("archive.organ")), organ),
      h("label", null, h("span", null, t("archive.participant")), participant),
    ),
    h("div", { class: "button-row" },
      h("button", { type: "submit", class: "primary", testid: "archive-submit" }, t("archive.search")), reset),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const next = { q: q.value.trim(), from: from.value, to: to.value, organ: organ.value, participant: participant.value.trim() };
    const qs = queryString(next);
    ctx.go(qs ? `#/archive?${qs}` : "#/archive");
  });
  root.replaceChildren(
    h("div", { class: "page-head" }, h("h1", null, t("archive.title"))),
    h("p", { class: "muted" }, t("archive.intro")),
    form,
    hits ? results(hits) : null,
  );
}

function results(hits) {
  if (hits.length === 0) return h("p", { class: "muted", testid: "archive-empty" }, t("archive.none"));
  return h("section", { "aria-live": "polite" },
    h("p", { class: "muted", testid: "archive-count" }, t("archive.found", { n: hits.length })),
    h("table", { class: "data", testid: "archive-results" },
      h("thead", null, h("tr", null,
        ["archive.col.session", "archive.col.date", "archive.col.organ", "archive.col.matches"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", null, hits.map((hit) => {
        const s = hit.session;
        return h("tr", { testid: `archive-row-${s.id}` },
          h("th", { scope: "row" }, h("a", { href: `#/archive/${encodeURIComponent(s.id)}`, testid: `archive-link-${s.id}` }, s.title)),
          h("td", null, dateTimeText(s.scheduled_at)),
          h("td", null, hit.organ_name),
          h("td", null,
            hit.matched_items.length && hit.matched_items.length < hit.items
              ? h("ul", { class: "plain" }, hit.matched_items.map((i) => h("li", { testid: `archive-match-${s.id}-${i.number}` }, t("archive.item", { n: i.number, subject: i.subject }))))
              : h("span", { class: "muted" }, t("archive.items", { n: hit.items })),
            hit.matched_participants.length ? h("div", { class: "muted small" }, hit.matched_participants.join(", ")) : null,
          ),
        );
      })),
    ),
  );
}
