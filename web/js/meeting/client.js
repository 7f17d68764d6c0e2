// The meeting features of the participant client, wired to the call: keeps the
// MeetingState, sends actions, and shows what the role calls for — the meeting bar,
// the vote panel and the lobby / art. 78 screens for members and guests, a discreet
// bar for the chamber's display (room), the console for the segretario. Places the
// grid's tiles (no one who is not admitted; lobby videos in the console's queue).
// Without a MeetingView (a plain call) it shows nothing and the call is as before.

import { confirmDialog } from "../confirm.js";
import { delegateActions } from "../dom.js";
import { hasText, t } from "../i18n.js";
import { ConsolePanel } from "../console/panel.js";
import { Actions } from "./actions.js";
import { renderBar } from "./bar.js";
import { actionErrorText, presenceText } from "./labels.js";
import { renderScreen, screenFor } from "./screens.js";
import { MeetingState } from "./state.js";
import { renderVoteSide } from "./vote.js";

const ERROR_SHOWN_MS = 15_000;
const HIDDEN_STATES = new Set(["lobby", "absent", "abstaining"]);

export class MeetingClient {
  // els: {call, title, bar, side, screen, screenText, screenPreview, console, error}
  constructor({ grid, els, send, localTrack }) {
    this.grid = grid;
    this.els = els;
    this.localTrack = localTrack;
    this.state = new MeetingState();
    this.actions = new Actions(send);
    this.panel = null;
    this.errorTimer = null;
    this.checkPending = 0; // until when a check_quorum result may still be refined
    this.state.addEventListener("change", () => this.render());
    for (const root of [els.bar, els.side, els.console]) delegateActions(root, (action, el) => this.act(action, el));
    grid.setPlacer((id, source) => this.place(id, source));
  }

  get role() {
    return this.state.role;
  }

  joined(me, resumed) {
    this.state.joined(me, resumed);
    document.body.classList.toggle("room-mode", me.role === "room");
    this.render();
  }

  // Meeting messages; returns whether `msg` was one.
  handle(msg) {
    if (msg.type === "action_result") {
      this.actions.handleResult(msg);
      return true;
    }
    const handled = this.state.handle(msg);
    if (handled && msg.type === "meeting" && Date.now() < this.checkPending) this.panel?.noteQuorumCheck(msg.state.quorum);
    return handled;
  }

  // The connection is gone (it may come back with resume).
  lost() {
    this.actions.abandon();
  }

  reset() {
    this.actions.abandon();
    this.state.reset();
  }

  async act(action, el) {
    if (el.dataset.confirm) {
      let vars = {};
      try {
        vars = JSON.parse(el.dataset.confirmVars || "{}");
      } catch {
        // no variables
      }
      const key = el.dataset.confirm;
      const yes = hasText(`${key}.yes`) ? t(`${key}.yes`) : undefined;
      if (!(await confirmDialog(t(key, vars), yes))) return;
    }
    el.disabled = true;
    const result = await this.actions.run(action);
    el.disabled = false;
    if (!result.ok) {
      this.showError(actionErrorText(result.code, result.message));
      return;
    }
    this.clearError();
    if (action.kind === "check_quorum") {
      this.panel?.noteQuorumCheck(this.state.view?.quorum);
      this.checkPending = Date.now() + 1500;
      this.render();
    }
  }

  showError(text) {
    const el = this.els.error;
    el.textContent = text;
    el.hidden = false;
    clearTimeout(this.errorTimer);
    this.errorTimer = setTimeout(() => this.clearError(), ERROR_SHOWN_MS);
  }

  clearError() {
    clearTimeout(this.errorTimer);
    this.els.error.hidden = true;
    this.els.error.textContent = "";
  }

  // Where a tile goes: "main", "hidden", or the console's lobby slot.
  place(id, source) {
    const state = this.state;
    if (id === state.meId) return state.role === "room" ? "hidden" : "main";
    if (screenFor(state)) return "hidden"; // not in the meeting: no one else is shown
    const person = state.person(id);
    if (!person) return "main";
    const s = person.presence.state;
    if (state.role === "segretario") {
      if (s === "lobby") return (source === "camera" && this.panel?.slotFor(id)) || "hidden";
      return s === "absent" ? "hidden" : "main";
    }
    return HIDDEN_STATES.has(s) ? "hidden" : "main";
  }

  render() {
    const { state, els } = this;
    const active = state.active;
    const segretario = state.role === "segretario";
    const room = state.role === "room";
    els.call.classList.toggle("has-meeting", active);
    if (els.title) els.title.textContent = state.view?.title ?? els.title.dataset.fallback ?? "";
    els.call.classList.toggle("console-mode", active && segretario);
    if (active && segretario) {
      this.panel ??= new ConsolePanel(els.console);
      this.panel.render(state);
    } else {
      els.console.hidden = true;
    }
    if (segretario) {
      els.bar.hidden = true;
      els.side.hidden = true;
    } else {
      renderBar(els.bar, state, { room });
      if (room) els.side.hidden = true;
      else renderVoteSide(els.side, state);
    }
    renderScreen({ root: els.screen, text: els.screenText, preview: els.screenPreview }, state, this.localTrack());
    els.call.classList.toggle("screen-mode", !!screenFor(state));
    for (const id of this.grid.people.keys()) {
      const p = state.person(id);
      const s = p?.presence.state;
      this.grid.setNote(id, p && id !== state.meId && s !== "present" ? presenceText(p.presence) : "");
    }
    this.grid.applyPlacement();
  }

  refresh() {
    this.render();
  }
}
