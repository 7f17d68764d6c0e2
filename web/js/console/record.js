// The record page of a closed session (GET /api/archive/sessions/{id}, logged by the
// server as a `view`): facts, the player with chapters, attendance at the opening and
// per item with the mode (in presenza / da remoto), votes by name with outcomes,
// suspensions and disconnections, the recording's files, the package with its
// signatures and delivery (when the package API answers), and the retention procedure.

import "./archive_texts.js";
import { confirmDialog } from "../confirm.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { dateTimeText, outcomeText, roleText, timeText } from "../meeting/labels.js";
import { api, apiErrorText, staffSession } from "./api.js";
import { downloadFile, playerCard } from "./player.js";
import { statusText } from "./sessions.js";

const enc = encodeURIComponent;

export async function showRecord(root, id, ctx) {
  root.replaceChildren(h("p", { class: "muted" }, t("staff.loading")));
  let rec;
  try {
    rec = await api("GET", `/api/archive/sessions/${enc(id)}`);
  } catch (e) {
    root.replaceChildren(h("a", { href: "#/archive", class: "back-link" }, t("record.back")));
    ctx.error(apiErrorText(e));
    return;
  }
  const role = staffSession()?.staff?.role;
  const s = rec.session;
  root.replaceChildren(
    h("a", { href: "#/archive", class: "back-link", testid: "record-back" }, t("record.back")),
    h("div", { class: "page-head" },
      h("h1", { testid: "record-title" }, s.title),
      role === "segretario" || role === "admin"
        ? h("a", { href: `#/access-log?session=${enc(s.id)}`, testid: "record-access-log" }, t("access.for_session"))
        : null),
    facts(rec),
    playerCard(s.id, rec.recording, ctx),
    agendaCard(rec.agenda),
    attendanceCard(rec),
    votesCard(rec),
    eventsCard(rec),
    filesCard(s.id, rec.recording, ctx),
    packageCard(s.id, ctx),
    retentionCard(s.id, role, ctx),
  );
}

function facts(rec) {
  const s = rec.session;
  const fact = (k, v) => [h("dt", null, t(k)), h("dd", null, v)];
  return h("dl", { class: "facts card", testid: "record-facts" },
    fact("record.facts.organ", rec.organ_name),
    fact("record.facts.date", dateTimeText(s.scheduled_at)),
    fact("record.facts.seat", s.seat),
    fact("record.facts.convocation", t(`convocation.${s.convocation}`)),
    fact("record.facts.opened", s.opened_at_ms ? dateTimeText(s.opened_at_ms) : "—"),
    fact("record.facts.closed", s.closed_at_ms ? `${dateTimeText(s.closed_at_ms)} (${statusText(s.status)})` : "—"),
  );
}

function agendaCard(agenda) {
  return h("section", { class: "card" }, h("h2", null, t("record.agenda")),
    h("ul", { class: "plain bare", testid: "record-agenda" }, agenda.map((i) =>
      h("li", null, t("archive.item", { n: i.number, subject: i.subject })))));
}

function stateText(row) {
  if (row.state === "present") return t(`record.state.present.${row.mode === "in_person" ? "in_person" : "remote"}`);
  const key = `record.state.${row.state}`;
  const text = t(key);
  return text === key ? row.state : text;
}

// One table: a row per person, a column per roll call (the opening, each item).
function attendanceCard(rec) {
  const calls = rec.roll_calls;
  const body = calls.length === 0
    ? h("p", { class: "muted" }, t("record.attendance.none"))
    : h("div", { class: "table-scroll" }, h("table", { class: "data attendance-matrix", testid: "record-attendance" },
        h("thead", null, h("tr", null,
          h("th", { scope: "col" }, t("record.attendance.name")),
          calls.map((c) => h("th", { scope: "col", title: timeText(c.at) },
            c.kind === "opening" ? t("record.attendance.opening") : t("record.attendance.item", { n: c.item }))))),
        h("tbody", null, calls[0].attendance.map((p, row) => h("tr", { testid: `attendance-${p.participant}` },
          h("th", { scope: "row" }, p.name, h("div", { class: "muted small" }, roleText(p.role))),
          calls.map((c, col) => {
            const cell = c.attendance[row];
            return h("td", {
              class: `presence-${cell.state}`,
              testid: `attendance-${p.participant}-${col}`,
              "data-state": cell.state,
              "data-mode": cell.mode,
            }, stateText(cell));
          }),
        ))),
      ));
  return h("section", { class: "card" }, h("h2", null, t("record.attendance")), body);
}

function votesCard(rec) {
  if (rec.votes.length === 0) {
    return h("section", { class: "card" }, h("h2", null, t("record.votes")), h("p", { class: "muted" }, t("record.votes.none")));
  }
  const names = (list) => (list.length ? list.join(", ") : t("record.vote.nobody"));
  return h("section", { class: "card" }, h("h2", null, t("record.votes")),
    rec.votes.map((v) => {
      const c = v.outcome?.count ?? {};
      return h("article", { class: "vote-record", testid: `record-vote-${v.number}`, "data-approved": String(!!v.outcome?.approved) },
        h("h3", null, t("record.vote.title", { number: v.number, item: v.item, kind: t(`record.vote.kind.${v.kind}`) })),
        h("p", null, h("strong", { testid: `record-vote-${v.number}-outcome` }, outcomeText(v.outcome ?? {})), " — ",
          t("record.vote.counts", { fav: c.favorevoli ?? 0, con: c.contrari ?? 0, ast: c.astenuti ?? 0, pres: c.presenti ?? 0 })),
        h("dl", { class: "vote-names" },
          ["favorevoli", "contrari", "astenuti", "non_votanti"].map((k) => [
            h("dt", null, t(`record.vote.${k}`)),
            h("dd", { testid: `record-vote-${v.number}-${k}` }, names(v[k])),
          ])),
        h("p", { class: "muted small" }, t("record.vote.times", { from: timeText(v.opened_at_ms), to: timeText(v.closed_at_ms) })),
      );
    }));
}

function eventsCard(rec) {
  if (rec.events.length === 0) return null;
  return h("section", { class: "card" }, h("h2", null, t("record.events")),
    h("ul", { class: "plain", testid: "record-events" }, rec.events.map((e) =>
      h("li", null, h("span", { class: "chapter-time" }, timeText(e.at)), " ",
        t(`record.event.${e.kind}`, { name: e.name ?? "", item: e.item ?? "" })))));
}

function sizeText(bytes) {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

function filesCard(id, recording, ctx) {
  if (!recording.files.length) return null;
  return h("section", { class: "card" }, h("h2", null, t("files.title")),
    recording.preservation_state ? h("p", { class: "muted" }, t("player.preservation", { state: t(`preservation.${recording.preservation_state}`) })) : null,
    h("table", { class: "data", testid: "record-files" },
      h("thead", null, h("tr", null, ["files.col.name", "files.col.size"].map((k) => h("th", { scope: "col" }, t(k))), h("th"))),
      h("tbody", null, recording.files.map((f) => h("tr", null,
        h("td", null, h("code", null, f.name)),
        h("td", null, sizeText(f.size)),
        h("td", null, h("button", { type: "button", testid: `download-${f.name}`, onclick: () => downloadFile(id, f.name, ctx) }, t("files.download"))),
      )))));
}

// The package helper's API: shown when it answers, in the shape it has.
function packageCard(id, ctx) {
  const body = h("div", { testid: "record-package" }, h("p", { class: "muted" }, t("staff.loading")));
  const card = h("section", { class: "card" }, h("h2", null, t("package.title")), body);
  api("GET", `/api/sessions/${enc(id)}/package`).then((pkg) => {
    body.replaceChildren(...packageView(id, pkg, ctx));
  }).catch(() => {
    body.replaceChildren(h("p", { class: "muted", testid: "package-none" }, t("package.none")));
  });
  return card;
}

function packageView(id, pkg, ctx) {
  const versions = pkg?.versions ?? [];
  if (!pkg?.enabled || versions.length === 0) return [h("p", { class: "muted", testid: "package-none" }, t("package.none"))];
  const out = [];
  out.push(h("ul", { class: "plain", testid: "package-versions" }, versions.map((v) => {
    const button = h("button", { type: "button", class: "small", testid: `package-download-${v.version}` }, t("package.download"));
    button.addEventListener("click", () => downloadWithToken(v.download, v.zip, ctx));
    return h("li", { "data-version": String(v.version) },
      h("strong", null, t("package.version", { n: v.version })), ` — ${dateTimeText(v.built_at)} — `, button,
      v.deliveries.length
        ? h("ul", { class: "plain", testid: `package-deliveries-${v.version}` }, v.deliveries.map((d) => h("li", { "data-state": d.state },
            [d.sink, t(`package.delivery.${d.state}`), d.delivered_at, d.last_error_code].filter((x) => x).join(" — "))))
        : h("div", { class: "muted small" }, t("package.deliveries.none")));
  })));
  out.push(h("h3", null, t("package.signatures")));
  const toSign = pkg.to_sign ?? [];
  out.push(toSign.length
    ? h("ul", { class: "plain", testid: "package-to-sign" }, toSign.flatMap((f) => f.signers.map((sg) => h("li", { "data-received": String(sg.received) },
        `${f.file} — ${sg.name} (${sg.role}): `, h("strong", null, t(sg.received ? "package.signed" : "package.unsigned"))))))
    : h("p", { class: "muted" }, t("package.signatures.none")));
  if ((pkg.signatures ?? []).length) {
    out.push(h("ul", { class: "plain small", testid: "package-signatures" }, pkg.signatures.map((sg) => h("li", null,
      [sg.signature_file, sg.signer_cn, sg.signing_time ? dateTimeText(sg.signing_time) : null, sg.verdict, timestampText(sg.timestamp)]
        .filter((x) => x).join(" — ")))));
  }
  return out;
}

// A signature's RFC 3161 timestamp (only with a TSA configured).
function timestampText(ts) {
  if (!ts) return null;
  return ts.state === "granted"
    ? t("package.timestamp.granted", { time: dateTimeText(ts.time) })
    : t("package.timestamp.pending", { code: ts.code ?? "…" });
}

// A file behind the staff token (the package API's own download), saved as a blob.
async function downloadWithToken(path, name, ctx) {
  try {
    const res = await fetch(path, { headers: { Authorization: `Bearer ${staffSession()?.token ?? ""}` } });
    if (!res.ok) throw Object.assign(new Error(""), { code: `http_${res.status}`, status: res.status });
    const url = URL.createObjectURL(await res.blob());
    const a = h("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (e) {
    ctx.error(apiErrorText(e));
  }
}

function retentionCard(id, role, ctx) {
  const body = h("div", { testid: "record-retention" }, h("p", { class: "muted" }, t("staff.loading")));
  const card = h("section", { class: "card" }, h("h2", null, t("retention.title")), body);
  const load = () => api("GET", `/api/sessions/${enc(id)}/retention`).then((r) => {
    body.replaceChildren(...retentionView(id, r, role, ctx, load));
  }).catch((e) => body.replaceChildren(h("p", { class: "muted" }, apiErrorText(e))));
  load();
  return card;
}

function retentionView(id, r, role, ctx, reload) {
  const years = t(r.retention_years === 1 ? "retention.years.one" : "retention.years.many", { years: r.retention_years });
  const out = [h("p", { class: "muted" }, t("retention.summary", { years }))];
  if (r.period_ends_at_ms) out.push(h("p", null, t("retention.ends", { date: dateTimeText(r.period_ends_at_ms) })));
  out.push(h("p", null, r.package_version
    ? t("retention.delivered", { version: r.package_version, delivered: r.delivered, sinks: r.sinks })
    : t("retention.not_delivered")));
  if (r.refusal) {
    out.push(h("p", { testid: "retention-refusal", "data-code": r.refusal }, t(`retention.refusal.${r.refusal}`)));
    return out;
  }
  out.push(h("p", null, t("retention.files", { files: r.working_masters.join(", ") })));
  if (role !== "segretario" && role !== "admin") return out;
  const reason = h("textarea", { testid: "retention-reason", rows: "2", maxlength: "2000", required: true });
  const submit = h("button", { type: "submit", class: "danger", testid: "retention-delete" }, t("retention.delete"));
  const form = h("form", { class: "form" }, h("label", null, h("span", null, t("retention.reason")), reason), submit);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!(await confirmDialog(t("retention.confirm", { n: r.working_masters.length }), t("retention.delete")))) return;
    submit.disabled = true;
    try {
      const report = await api("POST", `/api/sessions/${enc(id)}/retention/delete`, { reason: reason.value.trim() });
      ctx.notice(t("retention.done", { n: report.deleted.length }));
      reload();
    } catch (e) {
      ctx.error(apiErrorText(e));
      submit.disabled = false;
    }
  });
  out.push(form);
  return out;
}
