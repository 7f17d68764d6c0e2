// The call grid: one tile per participant (and one per shared screen), with name,
// role, speaking, mute, camera and connection-quality indicators. A placer may
// hide a tile (someone not admitted) or put it elsewhere (the segretario's lobby
// queue); a hidden tile's video is paused at the server.

import { t } from "./i18n.js";

// Icons drawn inline: no icon font or emoji font is needed on the user's machine.
const MIC_OFF = `<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M9 5a3 3 0 0 1 6 0v6a3 3 0 0 1-5 2.2"/><path d="M5 11a7 7 0 0 0 11.5 5.4M19 11a7 7 0 0 1-.7 3M12 18v3M3 3l18 18"/></svg>`;
const CAMERA_OFF = `<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M15 10l5-3v10l-5-3M3 7h8a4 4 0 0 1 4 4v6H7a4 4 0 0 1-4-4zM3 3l18 18"/></svg>`;

export class Grid {
  constructor(root, audioSink, onSize) {
    this.root = root;
    this.audioSink = audioSink;
    this.onSize = onSize; // (trackId, {max_height, paused}) => void
    this.tiles = new Map(); // key -> tile element
    this.people = new Map(); // participant id -> participant
    this.selfId = null;
    this.trackOfTile = new Map(); // tile key -> track id
    this.notes = new Map(); // participant id -> short presence note
    this.placer = null; // (participantId, source) => "main" | "hidden" | Element
    this.resize = new ResizeObserver((entries) => entries.forEach((e) => this.reportSize(e.target)));
    this.visible = new IntersectionObserver((entries) => entries.forEach((e) => this.reportSize(e.target, !e.isIntersecting)));
  }

  key(participantId, source) {
    return source === "screen" ? `${participantId}:screen` : participantId;
  }

  upsertParticipant(p, isSelf = false) {
    if (isSelf) this.selfId = p.id;
    this.people.set(p.id, p);
    const tile = this.ensureTile(p.id, "camera");
    this.decorate(tile, p);
  }

  removeParticipant(id) {
    this.people.delete(id);
    for (const [key, tile] of this.tiles) {
      if (key === id || key.startsWith(`${id}:`)) {
        this.dropTile(key, tile);
      }
    }
    this.root.querySelectorAll(`audio[data-participant="${CSS.escape(id)}"]`).forEach((a) => a.remove());
  }

  ensureTile(participantId, source) {
    const key = this.key(participantId, source);
    let tile = this.tiles.get(key);
    if (tile) return tile;
    tile = document.createElement("figure");
    tile.className = source === "screen" ? "tile screen" : "tile";
    tile.dataset.participant = participantId;
    tile.dataset.source = source;
    tile.innerHTML = `
      <video autoplay playsinline muted></video>
      <figcaption>
        <span class="quality" role="img"></span>
        <span class="name"></span>
        <span class="role"></span>
        <span class="flags"></span>
      </figcaption>`;
    this.tiles.set(key, tile);
    this.place(tile);
    const p = this.people.get(participantId);
    if (p) this.decorate(tile, p);
    this.layout();
    return tile;
  }

  dropTile(key, tile) {
    this.resize.unobserve(tile);
    this.visible.unobserve(tile);
    tile.remove();
    this.tiles.delete(key);
    this.trackOfTile.delete(key);
    this.layout();
  }

  setPlacer(placer) {
    this.placer = placer;
    this.applyPlacement();
  }

  // Puts every tile where the placer says (after the meeting state changed).
  applyPlacement() {
    for (const tile of this.tiles.values()) this.place(tile);
    this.layout();
  }

  place(tile) {
    const where = this.placer?.(tile.dataset.participant, tile.dataset.source) ?? "main";
    const parent = where instanceof Element ? where : this.root;
    if (tile.parentNode !== parent) {
      parent.appendChild(tile);
      const video = tile.querySelector("video");
      if (video.srcObject && video.paused) video.play().catch(() => {});
    }
    tile.hidden = where === "hidden";
    tile.classList.toggle("queued", parent !== this.root);
  }

  // A short presence note on a participant's tile ("assente temporaneamente"); "" clears it.
  setNote(participantId, text) {
    if ((this.notes.get(participantId) || "") === (text || "")) return;
    if (text) this.notes.set(participantId, text);
    else this.notes.delete(participantId);
    const tile = this.tiles.get(participantId);
    const p = this.people.get(participantId);
    if (tile && p) this.decorate(tile, p);
  }

  decorate(tile, p) {
    const isSelf = p.id === this.selfId;
    const source = tile.dataset.source;
    tile.querySelector(".name").textContent =
      source === "screen" ? `${p.name} — ${t("call.screen")}` : isSelf ? `${p.name} (${t("call.you")})` : p.name;
    tile.querySelector(".role").textContent = t(`role.${p.role}`);
    const flags = [];
    if (p.audio_muted) flags.push(`<span class="flag muted" role="img" title="${t("call.muted")}" aria-label="${t("call.muted")}">${MIC_OFF}</span>`);
    if (p.video_muted && source !== "screen") flags.push(`<span class="flag camoff" role="img" title="${t("call.camoff")}" aria-label="${t("call.camoff")}">${CAMERA_OFF}</span>`);
    if (p.connection === "reconnecting") flags.push(`<span class="flag reconnecting">${t("call.participant.reconnecting")}</span>`);
    tile.querySelector(".flags").innerHTML = flags.join("");
    const note = source === "screen" ? "" : this.notes.get(p.id) || "";
    let noteEl = tile.querySelector(".note");
    if (note && !noteEl) {
      noteEl = document.createElement("span");
      noteEl.className = "note";
      tile.querySelector(".role").after(noteEl);
    }
    if (noteEl) {
      noteEl.textContent = note;
      noteEl.hidden = !note;
    }
    tile.dataset.initials = p.name
      .split(/\s+/)
      .filter((w) => /^\p{Lu}/u.test(w))
      .slice(0, 2)
      .map((w) => w[0])
      .join("");
    tile.classList.toggle("camoff", !!p.video_muted && source !== "screen");
    tile.classList.toggle("self", isSelf);
  }

  refreshTexts() {
    for (const tile of this.tiles.values()) {
      const p = this.people.get(tile.dataset.participant);
      if (p) this.decorate(tile, p);
      const q = tile.dataset.quality;
      if (q) this.setQualityOn(tile, q);
    }
  }

  setLocalVideo(track) {
    if (!this.selfId) return;
    const video = this.ensureTile(this.selfId, "camera").querySelector("video");
    video.srcObject = track ? new MediaStream([track]) : null;
  }

  setLocalScreen(track) {
    if (!this.selfId) return;
    if (!track) {
      const key = this.key(this.selfId, "screen");
      const tile = this.tiles.get(key);
      if (tile) this.dropTile(key, tile);
      return;
    }
    const video = this.ensureTile(this.selfId, "screen").querySelector("video");
    video.srcObject = new MediaStream([track]);
  }

  addRemoteTrack(info, track) {
    if (info.kind === "audio") {
      const audio = document.createElement("audio");
      audio.autoplay = true;
      audio.dataset.participant = info.participant;
      audio.dataset.track = info.track;
      audio.srcObject = new MediaStream([track]);
      this.audioSink.appendChild(audio);
      return;
    }
    const key = this.key(info.participant, info.source);
    const tile = this.ensureTile(info.participant, info.source);
    tile.dataset.track = info.track;
    this.trackOfTile.set(key, info.track);
    tile.querySelector("video").srcObject = new MediaStream([track]);
    this.resize.observe(tile);
    this.visible.observe(tile);
  }

  removeTrack(trackId) {
    this.audioSink.querySelectorAll(`audio[data-track="${CSS.escape(trackId)}"]`).forEach((a) => a.remove());
    for (const [key, tile] of this.tiles) {
      if (tile.dataset.track !== trackId) continue;
      if (tile.dataset.source === "screen") {
        this.dropTile(key, tile);
      } else {
        tile.querySelector("video").srcObject = null;
        delete tile.dataset.track;
      }
    }
  }

  // Forgets every track not in `live` (a Set of track ids).
  retainTracks(live) {
    const gone = new Set();
    for (const tile of this.tiles.values()) if (tile.dataset.track && !live.has(tile.dataset.track)) gone.add(tile.dataset.track);
    this.audioSink.querySelectorAll("audio[data-track]").forEach((a) => {
      if (!live.has(a.dataset.track)) gone.add(a.dataset.track);
    });
    gone.forEach((id) => this.removeTrack(id));
  }

  // Tells the server how tall a tile is, so it sends no bigger layer than needed,
  // and pauses tiles that are off screen.
  reportSize(tile, hidden = false) {
    const track = tile.dataset.track;
    if (!track) return;
    const height = Math.round(tile.clientHeight * (window.devicePixelRatio || 1));
    const wish = { max_height: height > 0 ? height : null, paused: hidden };
    const last = tile._wish;
    if (last && last.paused === wish.paused && Math.abs((last.max_height || 0) - (wish.max_height || 0)) < 40) return;
    tile._wish = wish;
    this.onSize(track, wish);
  }

  setSpeakers(ids) {
    const speaking = new Set(ids);
    for (const tile of this.tiles.values()) {
      tile.classList.toggle("speaking", tile.dataset.source !== "screen" && speaking.has(tile.dataset.participant));
    }
  }

  setQuality(participantId, quality) {
    const tile = this.tiles.get(participantId);
    if (tile) this.setQualityOn(tile, quality);
  }

  setQualityOn(tile, quality) {
    tile.dataset.quality = quality;
    const el = tile.querySelector(".quality");
    el.className = `quality q-${quality}`;
    el.setAttribute("aria-label", t(`quality.${quality}`));
    el.title = t(`quality.${quality}`);
  }

  layout() {
    const shown = [...this.tiles.values()].filter((t) => t.parentNode === this.root && !t.hidden);
    const n = shown.filter((t) => t.dataset.source !== "screen").length;
    const cols = n <= 1 ? 1 : n <= 4 ? 2 : n <= 9 ? 3 : 4;
    this.root.style.setProperty("--cols", cols);
    this.root.classList.toggle("has-screen", shown.some((t) => t.dataset.source === "screen"));
  }

  clearRemote() {
    for (const [key, tile] of this.tiles) {
      if (tile.dataset.participant !== this.selfId) this.dropTile(key, tile);
    }
    this.audioSink.replaceChildren();
  }
}
