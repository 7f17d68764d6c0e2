// Staff console: a session's recording — the files kept, the preservation copy being
// made after the close (state and progress, refreshed while it runs) and the chapters
// (agenda items, votes, suspensions) on the recording's clock.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { api, apiErrorText } from "./api.js";

const REFRESH_MS = 2000;

// Returns the card; it refreshes itself while the job is queued or running and stops
// once the card has left the page.
export function recordingCard(sessionId, ctx) {
  const body = h("div", { testid: "recording-report" }, h("p", { class: "muted" }, t("staff.loading")));
  const card = h("section", { class: "card", "aria-labelledby": "recording-title" },
    h("h2", { id: "recording-title" }, t("recording.title")), body);
  const refresh = async () => {
    if (!card.isConnected && card.dataset.shown) return;
    let report;
    try {
      report = await api("GET", `/api/sessions/${encodeURIComponent(sessionId)}/recording`);
    } catch (e) {
      ctx.error(apiErrorText(e));
      return;
    }
    card.dataset.shown = "1";
    body.replaceChildren(...render(report));
    const state = report.preservation?.state;
    if (state === "queued" || state === "running") setTimeout(refresh, REFRESH_MS);
  };
  refresh();
  return card;
}

function render(report) {
  if (!report.enabled) return [h("p", { class: "muted" }, t("recording.disabled"))];
  if (!report.files.length) return [h("p", { class: "muted", testid: "recording-none" }, t("recording.none"))];
  const bytes = report.files.reduce((s, f) => s + f.size, 0);
  const out = [h("p", null, t("recording.files", { n: report.files.length, size: sizeText(bytes) }))];
  out.push(preservationBlock(report.preservation));
  const chapters = report.chapters?.chapters ?? [];
  if (chapters.length) {
    out.push(h("h3", null, t("recording.chapters")),
      h("ol", { class: "chapters", testid: "chapters" }, chapters.map((c) =>
        h("li", { "data-kind": c.kind }, h("span", { class: "chapter-time" }, clockText(c.start_ms)), " ", c.title))));
  }
  return out;
}

function preservationBlock(job) {
  if (!job) return h("p", { class: "muted", testid: "preservation-state", "data-state": "none" }, t("preservation.none"));
  const percent = Math.round((job.progress ?? 0) * 100);
  const parts = [h("span", null, t(`preservation.${job.state}`))];
  if (job.state === "running") {
    parts.push(" ", h("progress", { max: "100", value: String(percent), testid: "preservation-progress", "aria-label": t("preservation.progress") }),
      " ", `${percent}%`, job.stage ? ` — ${t(`preservation.stage.${job.stage}`)}` : "");
  }
  if (job.state === "failed" && job.error_code) parts.push(" ", h("code", null, job.error_code), " ", job.error_message ?? "");
  return h("p", { testid: "preservation-state", "data-state": job.state }, h("strong", null, t("preservation.title")), " ", parts);
}

function clockText(ms) {
  const s = Math.floor((ms ?? 0) / 1000);
  const two = (n) => String(n).padStart(2, "0");
  return `${two(Math.floor(s / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
}

function sizeText(bytes) {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}
