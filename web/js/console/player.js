// The archive's player: preservation.mp4 (or mix.flac when there is no copy) through
// a short-lived signed media URL, since a <video> element cannot send the staff
// token. The URL is asked for once per page, when the clerk starts the playback (or
// jumps to a chapter first): that request is the one `play` entry of the access log;
// the browser's range requests that follow are not logged one by one.

import "./archive_texts.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { api, apiErrorText } from "./api.js";

export function clockText(ms) {
  const s = Math.floor((ms ?? 0) / 1000);
  const two = (n) => String(n).padStart(2, "0");
  return `${two(Math.floor(s / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
}

// recording: {player, chapters, preservation_state, files}; returns the card.
export function playerCard(sessionId, recording, ctx) {
  const card = h("section", { class: "card player-card", "aria-labelledby": "player-title", testid: "player" },
    h("h2", { id: "player-title" }, t("player.title")));
  if (!recording.player) {
    card.append(h("p", { class: "muted", testid: "player-none" }, t("player.none")));
    return card;
  }
  const audio = recording.player !== "preservation.mp4";
  const media = h(audio ? "audio" : "video", {
    controls: true,
    preload: "none",
    testid: "player-media",
    "data-file": recording.player,
    hidden: true,
  });
  const start = h("button", { type: "button", class: "primary player-start", testid: "player-start" }, t("player.start"));
  let starting = null;
  // Asks for the URL once; resolves when the media's length is known.
  const ensure = () => {
    if (!starting) {
      starting = (async () => {
        start.disabled = true;
        const link = await api("POST", `/api/sessions/${encodeURIComponent(sessionId)}/media-token`, { file: recording.player, purpose: "play" });
        const ready = new Promise((resolve, reject) => {
          media.addEventListener("loadedmetadata", resolve, { once: true });
          media.addEventListener("error", () => reject(new Error("media")), { once: true });
        });
        media.src = link.url;
        media.hidden = false;
        start.hidden = true;
        media.load();
        await ready;
      })().catch((e) => {
        starting = null;
        start.disabled = false;
        ctx.error(e?.code ? apiErrorText(e) : t("apierr.generic", { code: "media", status: "" }));
        throw e;
      });
    }
    return starting;
  };
  start.addEventListener("click", () => ensure().then(() => media.play()).catch(() => {}));
  const jump = (ms) => ensure().then(() => {
    media.currentTime = ms / 1000;
    return media.play();
  }).catch(() => {});
  const chapters = recording.chapters?.chapters ?? [];
  const nav = chapters.filter((c) => c.kind !== "speaker");
  const speakers = chapters.filter((c) => c.kind === "speaker");
  const chapterList = (list, testid) => h("ol", { class: "chapters", testid },
    list.map((c) => h("li", { "data-kind": c.kind },
      h("button", {
        type: "button",
        class: "link chapter",
        testid: `chapter-${c.id}`,
        "data-start-ms": String(c.start_ms),
        onclick: () => jump(c.start_ms),
      }, h("span", { class: "chapter-time" }, clockText(c.start_ms)), " ", c.title),
      c.kind === "vote" && c.end_label ? h("span", { class: "muted small" }, ` — ${c.end_label}`) : null,
    )));
  card.append(
    h("div", { class: "player-layout" },
      h("div", { class: "player-main" },
        audio ? h("p", { class: "muted", testid: "player-audio-only" }, t("player.audio_only")) : null,
        start,
        media,
        h("p", { class: "muted small" }, t("player.logged")),
      ),
      h("div", { class: "player-side" },
        h("h3", null, t("player.chapters")),
        nav.length ? chapterList(nav, "chapters") : h("p", { class: "muted" }, t("player.no_chapters")),
        h("h3", null, t("player.speakers")),
        speakers.length ? chapterList(speakers, "speakers") : speakerSpans(sessionId, jump),
      ),
    ),
  );
  return card;
}

// Downloads a file of the recording through a signed URL (one `download` entry).
export async function downloadFile(sessionId, file, ctx) {
  try {
    const link = await api("POST", `/api/sessions/${encodeURIComponent(sessionId)}/media-token`, { file, purpose: "download" });
    const a = h("a", { href: link.url, download: `${sessionId}-${file}`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    ctx.error(apiErrorText(e));
  }
}

// Microphone activity per participant (GET /api/archive/sessions/{id}/speakers),
// derived from each person's own microphone track on the server's first request.
function speakerSpans(sessionId, jump) {
  const body = h("div", { testid: "speakers" }, h("p", { class: "muted" }, t("player.speakers.loading")));
  api("GET", `/api/archive/sessions/${encodeURIComponent(sessionId)}/speakers`).then((report) => {
    if (!report.available || report.speakers.length === 0) {
      body.replaceChildren(h("p", { class: "muted", testid: "no-speakers", "data-reason": report.reason ?? "" }, t("player.no_speakers")));
      return;
    }
    body.replaceChildren(
      h("p", { class: "muted small" }, t("player.speakers.method", { db: report.threshold_db })),
      ...report.speakers.map((sp) => h("details", { class: "speaker", testid: `speaker-${sp.participant}` },
        h("summary", null, sp.name, sp.role === "room" ? ` (${t("player.speakers.room")})` : "", " — ",
          t(sp.spans.length === 1 ? "player.speakers.count.one" : "player.speakers.count", { n: sp.spans.length })),
        h("ol", { class: "chapters" }, sp.spans.map((span) => h("li", null,
          h("button", { type: "button", class: "link chapter", "data-start-ms": String(span.start_ms), onclick: () => jump(span.start_ms) },
            h("span", { class: "chapter-time" }, `${clockText(span.start_ms)}–${clockText(span.end_ms)}`))))))),
    );
  }).catch(() => body.replaceChildren(h("p", { class: "muted", testid: "no-speakers" }, t("player.no_speakers"))));
  return body;
}
