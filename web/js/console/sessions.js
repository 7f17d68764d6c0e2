// Staff console: the list of sessions and the form that convenes a new one
// (organ, title, date and time, seat, convocation, agenda).

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { dateTimeText } from "../meeting/labels.js";
import { api, apiErrorText } from "./api.js";
import { AgendaEditor } from "./agenda_editor.js";

export function statusText(status) {
  const key = `phase.${status}`;
  const text = t(key);
  return text === key ? status : text;
}

// ctx: {go(hash), error(text), notice(text)}
export async function showSessions(root, ctx) {
  root.replaceChildren(h("p", { class: "muted" }, t("staff.loading")));
  let sessions;
  let organs;
  try {
    [sessions, organs] = await Promise.all([api("GET", "/api/sessions"), api("GET", "/api/organs")]);
  } catch (e) {
    root.replaceChildren(h("h1", null, t("sessions.title")));
    ctx.error(apiErrorText(e));
    return;
  }
  const organName = (id) => organs.find((o) => o.id === id)?.name ?? id;
  const sorted = [...sessions].sort((a, b) => String(b.scheduled_at).localeCompare(String(a.scheduled_at)));
  const refresh = h("button", { type: "button", testid: "sessions-refresh" }, t("staff.refresh"));
  refresh.addEventListener("click", () => showSessions(root, ctx));
  root.replaceChildren(
    h("div", { class: "page-head" }, h("h1", null, t("sessions.title")), refresh),
    sorted.length === 0
      ? h("p", { class: "muted", testid: "sessions-empty" }, t("sessions.empty"))
      : h("table", { class: "data", testid: "sessions" },
          h("thead", null, h("tr", null,
            ["sessions.col.title", "sessions.col.organ", "sessions.col.when", "sessions.col.seat", "sessions.col.convocation", "sessions.col.status"]
              .map((k) => h("th", { scope: "col" }, t(k))),
          )),
          h("tbody", null, sorted.map((s) =>
            h("tr", { testid: `session-row-${s.id}`, "data-status": s.status },
              h("th", { scope: "row" }, h("a", { href: `#/session/${encodeURIComponent(s.id)}`, testid: `session-link-${s.id}` }, s.title)),
              h("td", null, organName(s.organ_id)),
              h("td", null, dateTimeText(s.scheduled_at)),
              h("td", null, s.seat),
              h("td", null, t(`convocation.${s.convocation}`)),
              h("td", { testid: `session-status-${s.id}` }, statusText(s.status)),
            ),
          )),
        ),
    createForm(organs, ctx),
  );
}

function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function createForm(organs, ctx) {
  const next = new Date(Date.now() + 3600_000);
  next.setMinutes(0, 0, 0);
  const organ = h("select", { testid: "new-organ", required: true },
    organs.map((o) => h("option", { value: o.id }, o.name)),
  );
  const title = h("input", { type: "text", testid: "new-title", required: true, maxlength: "300", placeholder: t("new.title.placeholder") });
  const when = h("input", { type: "datetime-local", testid: "new-scheduled", required: true });
  when.value = localInputValue(next);
  const seat = h("input", { type: "text", testid: "new-seat", required: true, maxlength: "300", placeholder: t("new.seat.placeholder") });
  const convocation = h("select", { testid: "new-convocation" },
    h("option", { value: "prima" }, t("convocation.prima")),
    h("option", { value: "seconda" }, t("convocation.seconda")),
  );
  const agenda = new AgendaEditor([], "new-agenda");
  const error = h("p", { class: "form-error", role: "alert", testid: "new-error", hidden: true });
  const submit = h("button", { type: "submit", class: "primary", testid: "new-submit" }, t("new.submit"));
  const form = h("form", { class: "form", novalidate: true },
    h("label", null, h("span", null, t("new.organ")), organ),
    h("label", null, h("span", null, t("new.title")), title),
    h("div", { class: "form-row" },
      h("label", null, h("span", null, t("new.when")), when),
      h("label", null, h("span", null, t("new.convocation")), convocation),
    ),
    h("label", null, h("span", null, t("new.seat")), seat),
    h("fieldset", null, h("legend", null, t("agenda.title")), agenda.root),
    error,
    submit,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const scheduled = new Date(when.value);
    const body = {
      organ_id: organ.value,
      title: title.value.trim(),
      scheduled_at: Number.isNaN(scheduled.getTime()) ? "" : scheduled.toISOString(),
      seat: seat.value.trim(),
      convocation: convocation.value,
      agenda: agenda.value(),
    };
    const missing = !body.organ_id ? "new.organ" : !body.title ? "new.title" : !body.scheduled_at ? "new.when" : !body.seat ? "new.seat" : null;
    if (missing) {
      error.textContent = t("new.missing", { field: t(missing) });
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      const answer = await api("POST", "/api/sessions", body);
      // A SessionRecord, or the session's detail ({session, agenda, participants}).
      const created = answer?.session ?? answer;
      ctx.notice(t("new.created", { title: created.title }));
      ctx.go(`#/session/${encodeURIComponent(created.id)}`);
    } catch (e) {
      error.textContent = apiErrorText(e);
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  if (organs.length === 0) {
    return h("section", { class: "card" }, h("h2", null, t("new.heading")), h("p", { class: "muted" }, t("new.no_organs")));
  }
  return h("details", { class: "card new-session", testid: "new-session" },
    h("summary", { testid: "new-session-toggle" }, t("new.heading")),
    form,
  );
}
