// The meeting bar above the grid: session title, phase, current item, quorum, and
// for members the "Mi assento / Sono di nuovo presente" toggle and the art. 78
// declaration. In room mode (the chamber's display) only phase, item and quorum.

import { actButton, h, patch } from "../dom.js";
import { t } from "../i18n.js";
import { itemText, lostText, phaseText, quorumText, timeText } from "./labels.js";

export function quorumBadge(q) {
  if (!q) return null;
  return h("span", { class: `quorum ${q.reached ? "ok" : "no"}`, testid: "quorum", role: "status" },
    h("span", { class: "mark", "aria-hidden": "true" }, q.reached ? "✓" : "✗"),
    ` ${quorumText(q)}`,
  );
}

export function phaseBadge(phase) {
  return h("span", { class: `badge phase-${phase}`, testid: "phase", "data-phase": phase }, phaseText(phase));
}

// Whether the session is being recorded, always shown: "● REC In registrazione",
// "Registrazione in pausa" or "Non in registrazione" (data-state for tests and CSS).
export function recordingBadge(recording) {
  const state = recording?.state ?? "off";
  const since = recording?.since && state !== "off" ? ` · ${t("rec.since", { time: timeText(recording.since) })}` : "";
  return h("span", { class: `rec-badge rec-${state}`, testid: "recording", "data-state": state, role: "status", "aria-live": "polite" },
    state === "recording" ? h("span", { class: "rec-dot", "aria-hidden": "true" }, "● REC ") : null,
    `${t(`rec.${state}`)}${since}`,
  );
}

export function renderBar(root, state, { room = false } = {}) {
  const view = state.view;
  root.hidden = !view;
  if (!view) return;
  const item = state.currentItem();
  const presence = state.presence?.state;
  const member = state.isMember();
  const open = view.phase === "open";
  const controls = [];
  if (!room && member && (presence === "present" || presence === "away") && view.phase !== "closed") {
    controls.push(
      presence === "away"
        ? actButton(t("bar.back"), { kind: "back" }, { testid: "away-toggle", cls: "primary", pressed: true })
        : actButton(t("bar.away"), { kind: "away" }, { testid: "away-toggle", pressed: false }),
    );
    if (open && item && presence === "present" && !view.vote) {
      controls.push(actButton(t("bar.abstain"), { kind: "abstain" }, { testid: "abstain-self", confirm: "bar.abstain.confirm" }));
    }
  }
  const lost = state.lostNow();
  patch(root, [
    room ? null : h("span", { class: "mbar-title" }, view.title),
    phaseBadge(view.phase),
    recordingBadge(state.recording),
    h("span", { class: "mbar-item", testid: "current-item" }, itemText(item)),
    quorumBadge(view.quorum),
    lost.length && !room
      ? h("span", { class: "alert-chip", role: "alert" }, lost.map(lostText).join(" · "))
      : null,
    controls.length ? h("span", { class: "mbar-controls" }, controls) : null,
  ]);
}
