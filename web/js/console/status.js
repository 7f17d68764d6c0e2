// Console: the session's state and its commands — phase, quorum with "Verifica
// numero legale", open / suspend / resume / close, and the alerts (quorum,
// presiding member or segretario lost) with the suggestion to suspend.

import { actButton, h } from "../dom.js";
import { t } from "../i18n.js";
import { phaseBadge, quorumBadge, recordingBadge } from "../meeting/bar.js";
import { lostText, timeText } from "../meeting/labels.js";

export function statusSection(state, lastCheck) {
  const view = state.view;
  const phase = view.phase;
  const buttons = [];
  if (phase === "convened") {
    buttons.push(actButton(t("console.open_session"), { kind: "open_session" }, { testid: "open-session", cls: "primary" }));
  }
  if (phase === "open") {
    buttons.push(actButton(t("console.suspend"), { kind: "suspend" }, { testid: "suspend", confirm: "console.suspend.confirm" }));
  }
  if (phase === "suspended") {
    buttons.push(actButton(t("console.resume"), { kind: "resume" }, { testid: "resume", cls: "primary", confirm: "console.resume.confirm" }));
  }
  if (phase === "open" || phase === "suspended") {
    buttons.push(actButton(t("console.close_session"), { kind: "close_session" }, { testid: "close-session", cls: "danger", confirm: "console.close_session.confirm" }));
  }
  const lost = state.lostNow();
  const rec = state.recording?.state ?? "off";
  const recButtons = [];
  if (phase === "open" || phase === "suspended") {
    if (rec === "recording") {
      recButtons.push(actButton(t("console.pause_recording"), { kind: "pause_recording" }, { testid: "pause-recording", confirm: "console.pause_recording.confirm" }));
    } else {
      recButtons.push(actButton(t(rec === "paused" ? "console.resume_recording" : "console.start_recording"), { kind: "resume_recording" }, { testid: "resume-recording", cls: "primary" }));
    }
  }
  const failures = state.recordingFailures ?? [];
  const alarm = state.recordingAlarm;
  return [
    h("div", { class: "status-line" }, phaseBadge(phase), h("span", { class: "muted" }, view.seat ? t("console.seat", { seat: view.seat }) : null)),
    h("div", { class: "status-line" }, recordingBadge(state.recording), recButtons.length ? h("span", { class: "button-row" }, recButtons) : null),
    alarm
      ? h("div", { class: "alert-box", role: "alert", testid: "recording-alarm", "data-code": alarm.code },
          h("strong", null, t(alarm.code === "disk_full" ? "rec.alarm.disk_full" : "rec.alarm.mix_failed")),
          h("p", { class: "muted small" }, t("rec.alarm.detail", { time: timeText(alarm.at), message: alarm.message })),
        )
      : null,
    failures.length
      ? h("div", { class: "alert-box", role: "alert", testid: "recording-failures" },
          failures.map((f) => h("p", null, t("rec.failed", { who: state.nameOf(f.participant_id), message: f.message }))),
        )
      : null,
    lost.length
      ? h("div", { class: "alert-box", role: "alert", testid: "alerts" },
          h("strong", null, lost.map(lostText).join(" · ")),
          h("p", null, t("console.alert.suggest")),
          actButton(t("console.suspend"), { kind: "suspend" }, { testid: "alert-suspend", cls: "danger", confirm: "console.suspend.confirm" }),
        )
      : null,
    h("div", { class: "status-line" },
      quorumBadge(view.quorum),
      phase !== "closed" ? actButton(t("console.check_quorum"), { kind: "check_quorum" }, { testid: "check-quorum" }) : null,
    ),
    lastCheck
      ? h("p", { class: "muted small", testid: "quorum-check" }, t("console.quorum_checked", { time: timeText(lastCheck.at), result: t(lastCheck.reached ? "quorum.word.reached" : "quorum.word.missing"), counted: lastCheck.counted, required: lastCheck.required }))
      : null,
    phase === "suspended" ? h("p", { class: "muted" }, t("console.resume.hint")) : null,
    phase === "convened" && !view.quorum?.reached ? h("p", { class: "muted" }, t("console.open.hint")) : null,
    buttons.length ? h("div", { class: "button-row" }, buttons) : null,
  ];
}
