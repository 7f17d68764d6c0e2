// Staff console: one session — its details, the agenda (editable while convened),
// the participants (add a guest, add the chamber's endpoint), the invitation links,
// and "Entra in seduta", which opens the meeting console with the segretario's own
// join token.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { dateTimeText, roleText } from "../meeting/labels.js";
import { api, apiErrorText } from "./api.js";
import { AgendaEditor } from "./agenda_editor.js";
import { Invitations } from "./invitations.js";
import { recordingCard } from "./recording.js";
import { statusText } from "./sessions.js";

const path = (id, rest = "") => `/api/sessions/${encodeURIComponent(id)}${rest}`;

// ctx: {go(hash), error(text), notice(text)}
export async function showSession(root, id, ctx) {
  root.replaceChildren(h("p", { class: "muted" }, t("staff.loading")));
  let detail;
  let organs = [];
  try {
    [detail, organs] = await Promise.all([api("GET", path(id)), api("GET", "/api/organs").catch(() => [])]);
  } catch (e) {
    root.replaceChildren(h("p", null, h("a", { href: "#/", testid: "back" }, t("session.back"))));
    ctx.error(apiErrorText(e));
    return;
  }
  const { session, agenda, participants } = detail;
  const organ = organs.find((o) => o.id === session.organ_id);
  const reload = () => showSession(root, id, ctx);

  const enter = h("button", { type: "button", class: "primary", testid: "enter-session" }, t("session.enter"));
  enter.addEventListener("click", async () => {
    enter.disabled = true;
    try {
      const { token } = await api("POST", path(id, "/console"));
      // The participant client on this origin, in console mode (role segretario).
      location.assign(`/#token=${encodeURIComponent(token)}`);
    } catch (e) {
      ctx.error(apiErrorText(e));
      enter.disabled = false;
    }
  });

  const invitations = new Invitations(id, participants, ctx);
  root.replaceChildren(
    h("p", null, h("a", { href: "#/", testid: "back" }, t("session.back"))),
    h("div", { class: "page-head" },
      h("h1", { testid: "session-title" }, session.title),
      session.status !== "closed" ? enter : null,
    ),
    h("dl", { class: "facts" },
      fact(t("sessions.col.organ"), organ?.name ?? session.organ_id),
      fact(t("sessions.col.when"), dateTimeText(session.scheduled_at)),
      fact(t("sessions.col.seat"), session.seat),
      fact(t("sessions.col.convocation"), t(`convocation.${session.convocation}`)),
      fact(t("sessions.col.status"), statusText(session.status), "session-status"),
      session.opened_at_ms ? fact(t("session.opened"), dateTimeText(session.opened_at_ms)) : null,
      session.closed_at_ms ? fact(t("session.closed"), dateTimeText(session.closed_at_ms)) : null,
    ),
    agendaCard(session, agenda, ctx, reload),
    participantsCard(session, participants, invitations, ctx, reload),
    invitations.root,
    session.status === "convened" ? null : recordingCard(id, ctx),
  );
  invitations.refresh();
}

function fact(label, value, testid) {
  return h("div", null, h("dt", null, label), h("dd", { testid }, value));
}

function agendaCard(session, agenda, ctx, reload) {
  const card = h("section", { class: "card", "aria-labelledby": "agenda-title" }, h("h2", { id: "agenda-title" }, t("agenda.title")));
  if (session.status !== "convened") {
    card.append(agenda.length
      ? h("ol", { class: "agenda", testid: "agenda" }, agenda.map((a) => h("li", null, h("span", { class: "agenda-n" }, `${a.number}.`), " ", a.subject)))
      : h("p", { class: "muted" }, t("agenda.empty")));
    return card;
  }
  const editor = new AgendaEditor(agenda, "agenda");
  const save = h("button", { type: "button", class: "primary", testid: "agenda-save" }, t("agenda.save"));
  save.addEventListener("click", async () => {
    save.disabled = true;
    try {
      await api("PUT", path(session.id, "/agenda"), editor.value());
      ctx.notice(t("agenda.saved"));
      reload();
    } catch (e) {
      ctx.error(apiErrorText(e));
      save.disabled = false;
    }
  });
  card.append(h("p", { class: "muted" }, t("agenda.editable")), editor.root, h("div", { class: "button-row" }, save));
  return card;
}

const ROLE_ORDER = ["presiding", "member", "segretario", "guest", "room"];

function participantsCard(session, participants, invitations, ctx, reload) {
  const rank = (p) => ROLE_ORDER.indexOf(p.role);
  const sorted = [...participants].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  const rows = sorted.map((p) =>
    h("tr", { testid: `participant-row-${p.id}` },
      h("th", { scope: "row" }, p.name),
      h("td", null, roleText(p.role)),
      h("td", null, p.role === "segretario" ? h("span", { class: "muted" }, t("invite.segretario")) : invitations.cellFor(p)),
    ),
  );
  const addForm = (kind) => {
    const input = h("input", { type: "text", maxlength: "200", testid: `${kind}-name`, "aria-label": t(`participants.${kind}.name`), placeholder: t(`participants.${kind}.placeholder`) });
    const button = h("button", { type: "submit", testid: `${kind}-add` }, t(`participants.${kind}.add`));
    const form = h("form", { class: "inline-form", novalidate: true }, input, button);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const name = input.value.trim();
      if (!name) {
        ctx.error(t("participants.name_missing"));
        input.focus();
        return;
      }
      button.disabled = true;
      try {
        await api("POST", path(session.id, kind === "guest" ? "/guests" : "/room"), { name });
        ctx.notice(t(`participants.${kind}.added`, { name }));
        reload();
      } catch (e) {
        ctx.error(apiErrorText(e));
        button.disabled = false;
      }
    });
    return form;
  };
  const closed = session.status === "closed";
  return h("section", { class: "card", "aria-labelledby": "participants-title" },
    h("h2", { id: "participants-title" }, t("participants.title")),
    h("table", { class: "data", testid: "participants" },
      h("thead", null, h("tr", null, ["participants.col.name", "participants.col.role", "participants.col.invite"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", null, rows),
    ),
    closed ? null : h("div", { class: "form-row" },
      h("div", null, h("h3", null, t("participants.guest.title")), addForm("guest")),
      h("div", null, h("h3", null, t("participants.room.title")), addForm("room")),
    ),
  );
}
