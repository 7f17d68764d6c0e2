// Console: the attendance table — name, role, presence in words, connection, since
// when — with the segretario's commands per person: check-in in the chamber,
// check-out, away/back, art. 78 for the current item, remove.

import { actButton, h } from "../dom.js";
import { t } from "../i18n.js";
import { MEMBER_ROLES } from "../meeting/state.js";
import { linkText, presenceText, roleText, timeText } from "../meeting/labels.js";

export function attendanceTable(state) {
  const view = state.view;
  const rows = view.people.map((p) => personRow(state, p));
  return h("table", { class: "attendance", testid: "attendance" },
    h("caption", { class: "sr-only" }, t("attendance.title")),
    h("thead", null, h("tr", null,
      ["attendance.name", "attendance.presence", "attendance.actions"]
        .map((k) => h("th", { scope: "col" }, t(k))),
    )),
    h("tbody", null, rows),
  );
}

function personRow(state, p) {
  const view = state.view;
  const s = p.presence.state;
  const member = MEMBER_ROLES.has(p.role);
  const isMe = p.id === state.meId;
  const item = view.current_item;
  const live = view.phase !== "closed";
  const buttons = [];
  if (live && !isMe && p.role !== "segretario") {
    if (s === "absent" && p.role !== "room") {
      buttons.push(actButton(t("attendance.checkin"), { kind: "check_in", participant: p.id }, { testid: `checkin-${p.id}`, cls: "primary" }));
    }
    if (member && s === "present") {
      buttons.push(actButton(t("attendance.away"), { kind: "away", participant: p.id }, { testid: `away-${p.id}` }));
    }
    if (s === "away") {
      buttons.push(actButton(t("attendance.back"), { kind: "back", participant: p.id }, { testid: `back-${p.id}` }));
    }
    if (member && s === "present" && item !== undefined && item !== null && view.phase === "open" && !view.vote) {
      buttons.push(actButton(t("attendance.abstain"), { kind: "abstain", participant: p.id }, {
        testid: `abstain-${p.id}`,
        confirm: "attendance.abstain.confirm",
        vars: { name: p.name, item },
        title: t("attendance.abstain.title", { item }),
      }));
    }
    if ((s === "present" || s === "away") && p.presence.mode === "in_person") {
      buttons.push(actButton(t("attendance.checkout"), { kind: "check_out", participant: p.id }, { testid: `checkout-${p.id}`, confirm: "attendance.checkout.confirm", vars: { name: p.name } }));
    }
    if (p.link !== "offline") {
      buttons.push(actButton(t("attendance.remove"), { kind: "remove", participant: p.id }, { testid: `remove-${p.id}`, cls: "danger", confirm: "attendance.remove.confirm", vars: { name: p.name } }));
    }
  }
  const since = s === "disconnected" ? p.presence.since : p.since;
  return h("tr", { testid: `attendance-row-${p.id}`, class: `presence-${s}` },
    h("th", { scope: "row" },
      h("div", null, p.name, isMe ? ` (${t("call.you")})` : ""),
      h("div", { class: "muted small" }, roleText(p.role)),
    ),
    h("td", null,
      h("div", { testid: `presence-${p.id}`, "data-state": s, "data-mode": p.presence.mode ?? null }, presenceText(p.presence)),
      h("div", { class: "muted small" },
        since ? t("attendance.since_time", { time: timeText(since) }) : null,
        since ? " · " : null,
        h("span", { "data-link": p.link }, linkText(p.link)),
        p.link !== "offline" && !p.camera_on ? ` · ${t("call.camoff")}` : null,
      ),
    ),
    h("td", { class: "row-actions" }, buttons),
  );
}
