// The segretario's meeting console, beside the video grid: state and commands,
// lobby queue (with video), vote, agenda, results, attendance. Rendered from the
// MeetingView after every change; clicks go through data-act (see dom.js).

import { h, patch } from "../dom.js";
import { t } from "../i18n.js";
import { resultsList } from "../meeting/results.js";
import { agendaList } from "./agenda.js";
import { attendanceTable } from "./attendance.js";
import { LobbyQueue } from "./lobby.js";
import { statusSection } from "./status.js";
import { votePanel } from "./votes.js";

const STAFF_KEY = "seduta.staff";

export class ConsolePanel {
  constructor(root) {
    this.root = root;
    this.lastCheck = null;
    const section = (name) => {
      const title = h("h2", { id: `console-${name}-title` });
      const body = h("div", { class: "section-body" });
      const el = h("section", { class: `console-section console-${name}`, "aria-labelledby": `console-${name}-title` }, title, body);
      return { el, title, body };
    };
    this.title = h("h1", { class: "console-title" });
    this.back = h("a", { href: "/console", class: "back-link", testid: "back-to-sessions" });
    this.sections = {
      status: section("status"),
      lobby: section("lobby"),
      vote: section("vote"),
      agenda: section("agenda"),
      results: section("results"),
      attendance: section("attendance"),
    };
    this.lobby = new LobbyQueue(this.sections.lobby.body);
    this.head = h("header", { class: "console-head" }, this.title, this.back);
    root.replaceChildren(this.head);
  }

  // While a vote is open it comes first; otherwise the lobby and attendance do.
  arrange(voting) {
    const s = this.sections;
    const order = voting
      ? [s.status, s.vote, s.lobby, s.attendance, s.agenda, s.results]
      : [s.status, s.lobby, s.attendance, s.agenda, s.vote, s.results];
    const now = [...this.root.children].slice(1);
    if (order.every((sec, i) => now[i] === sec.el)) return;
    for (const sec of order) this.root.appendChild(sec.el);
  }

  // After an accepted check_quorum: keep what it found.
  noteQuorumCheck(quorum) {
    if (quorum) this.lastCheck = { at: Date.now(), ...quorum };
  }

  // Returns whether the lobby rows changed (tiles must be placed again).
  render(state) {
    const view = state.view;
    this.root.hidden = !view;
    if (!view) return false;
    this.title.textContent = view.title;
    this.back.textContent = t("console.back");
    this.back.hidden = !sessionStorage.getItem(STAFF_KEY);
    const s = this.sections;
    const waiting = view.people.filter((p) => p.presence.state === "lobby").length;
    s.status.title.textContent = t("console.status.title");
    s.lobby.title.textContent = t("lobby.title", { n: waiting });
    s.vote.title.textContent = t("console.vote.title");
    s.agenda.title.textContent = t("agenda.title");
    s.results.title.textContent = t("results.title");
    s.attendance.title.textContent = t("attendance.title");
    this.arrange(!!view.vote);
    patch(s.status.body, statusSection(state, this.lastCheck));
    const lobbyChanged = this.lobby.render(state);
    patch(s.vote.body, votePanel(state));
    patch(s.agenda.body, agendaList(state));
    patch(s.results.body, resultsList(state));
    patch(s.attendance.body, attendanceTable(state));
    s.vote.el.classList.toggle("live", !!view.vote);
    return lobbyChanged;
  }

  slotFor(id) {
    return this.lobby.slotFor(id);
  }
}
