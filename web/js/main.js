// The app: prejoin → join → call, with reconnection. Diagnostics for support and
// tests are on `window.seduta` (state, peer connections, participants, track map,
// the last MeetingView, own presence, last action result); it exposes nothing the
// page does not already hold. The meeting features (lobby, votes, console) live in
// meeting/client.js and are active only for stored sessions.

import { applyTexts, currentLang, errorText, onLangChange, setLang, t } from "./i18n.js";
import { claimsOf, readToken } from "./token.js";
import { Signaling } from "./signaling.js";
import { Publisher } from "./publisher.js";
import { Subscriber } from "./subscriber.js";
import { Prejoin } from "./prejoin.js";
import { Grid } from "./grid.js";
import { MeetingClient } from "./meeting/client.js";

const $ = (id) => document.getElementById(id);
const VIEWS = ["view-notoken", "view-error", "view-prejoin", "view-call", "view-left"];
const BACKOFF_MS = [500, 1000, 2000, 3000];
const PEER_GRACE_MS = 5000;

const app = {
  state: "idle",
  token: null,
  claims: null,
  signaling: null,
  publisher: null,
  subscriber: null,
  stream: null, // local microphone + camera
  me: null,
  participants: new Map(),
  audioMuted: false,
  videoMuted: false,
  screenTrack: null,
  grid: null,
  prejoin: null,
  peerTimer: null,
  meeting: null,
};

window.seduta = {
  get state() {
    return app.state;
  },
  get publisherPc() {
    return app.publisher?.pc ?? null;
  },
  get subscriberPc() {
    return app.subscriber?.pc ?? null;
  },
  participants: () => [...app.participants.values()],
  tracks: () => app.subscriber?.tracks() ?? {},
  get role() {
    return app.me?.role ?? app.claims?.role ?? null;
  },
  get meeting() {
    return app.meeting?.state.view ?? null;
  },
  get presence() {
    return app.meeting?.state.presence ?? null;
  },
  get alerts() {
    return app.meeting?.state.lostNow() ?? [];
  },
  get lastAction() {
    return app.meeting?.actions.last ?? null;
  },
};

function show(view) {
  VIEWS.forEach((v) => ($(v).hidden = v !== view));
}

function setState(state) {
  app.state = state;
  document.body.dataset.state = state;
  const banner = $("conn-banner");
  banner.hidden = state !== "reconnecting";
  banner.textContent = state === "reconnecting" ? t("call.reconnecting") : "";
}

// Codes after which retrying with the same link cannot help.
const FINAL = new Set(["token_revoked", "token_expired", "token_invalid", "token_wrong_audience", "token_wrong_session"]);

function fail(code) {
  teardown();
  app.meeting?.reset();
  setState("error");
  $("error-title").dataset.i18n = code === "session_closed" ? "closed.title" : "error.title";
  $("error-title").textContent = t($("error-title").dataset.i18n);
  $("error-text").textContent = errorText(code);
  $("error-retry").hidden = FINAL.has(code) || code === "session_closed";
  $("error-console").hidden = !sessionStorage.getItem("seduta.staff");
  show("view-error");
}

async function start() {
  document.documentElement.lang = currentLang();
  applyTexts(document);
  $("lang-switch").textContent = currentLang() === "it" ? "EN" : "IT";
  $("lang-switch").onclick = () => setLang(currentLang() === "it" ? "en" : "it");
  onLangChange((lang) => {
    $("lang-switch").textContent = lang === "it" ? "EN" : "IT";
    updateControls();
    app.grid?.refreshTexts();
    app.meeting?.refresh();
    if ($("prejoin-role") && app.claims) $("prejoin-role").textContent = t(`role.${app.claims.role}`);
    if (app.state === "reconnecting") setState("reconnecting");
  });

  app.token = readToken();
  app.claims = app.token ? claimsOf(app.token) : null;
  if (!app.claims) {
    setState("notoken");
    show("view-notoken");
    return;
  }
  $("session-title").textContent = app.claims.session;
  $("session-title").dataset.fallback = app.claims.session;
  app.grid = new Grid($("grid"), $("audio-sink"), (track, wish) =>
    app.signaling?.send({ type: "subscribe", track, max_height: wish.max_height, paused: wish.paused }),
  );
  app.meeting = new MeetingClient({
    grid: app.grid,
    send: (m) => app.signaling?.send(m) ?? false,
    localTrack: () => app.stream?.getVideoTracks()[0] ?? null,
    els: {
      call: $("view-call"),
      title: $("session-title"),
      bar: $("meeting-bar"),
      side: $("meeting-side"),
      screen: $("meeting-screen"),
      screenText: $("meeting-screen-text"),
      screenPreview: $("meeting-screen-preview"),
      console: $("console-panel"),
      error: $("action-error"),
    },
  });
  document.body.classList.toggle("room-mode", app.claims.role === "room");
  $("error-retry").onclick = () => location.reload();
  $("join-button").onclick = join;
  $("leave-button").onclick = leave;
  $("rejoin-button").onclick = () => showPrejoin();
  $("mic-button").onclick = toggleMic;
  $("cam-button").onclick = toggleCamera;
  $("screen-button").onclick = toggleScreen;
  if (!navigator.mediaDevices?.getDisplayMedia) $("screen-button").hidden = true;
  app.prejoin = new Prejoin({
    video: $("preview"),
    cameraSelect: $("camera-select"),
    micSelect: $("mic-select"),
    meter: $("mic-meter"),
  });
  await showPrejoin();
}

async function showPrejoin() {
  setState("prejoin");
  $("prejoin-name").textContent = app.claims.name;
  $("prejoin-role").textContent = t(`role.${app.claims.role}`);
  show("view-prejoin");
  try {
    await app.prejoin.open();
    $("device-error").hidden = true;
  } catch {
    $("device-error").hidden = false;
    $("device-error").textContent = t("prejoin.nodevice");
  }
}

async function join() {
  $("join-button").disabled = true;
  app.stream = app.prejoin.take() || new MediaStream();
  app.audioMuted = false;
  app.videoMuted = app.stream.getVideoTracks().length === 0;
  setState("joining");
  if (app.claims.role === "room") document.documentElement.requestFullscreen?.()?.catch(() => {});
  try {
    await connect(false);
    show("view-call");
    updateControls();
  } catch (e) {
    fail(e.code || "network");
  } finally {
    $("join-button").disabled = false;
  }
}

// Opens signaling, then both peer connections. Used for the first join and for
// every reconnection (`resume`), always with fresh peer connections.
async function connect(resume) {
  const signaling = new Signaling(app.claims.session);
  const joined = await signaling.join(app.token, resume);
  app.signaling = signaling;
  signaling.addEventListener("message", (ev) => onMessage(ev.detail));
  signaling.addEventListener("lost", (ev) => onLost(ev.detail.fatal));

  app.me = joined.participant;
  app.meeting.joined(joined.participant, resume);
  app.participants = new Map();
  app.grid.clearRemote();
  app.grid.upsertParticipant(joined.participant, true);
  app.participants.set(joined.participant.id, joined.participant);
  for (const p of joined.participants) {
    app.participants.set(p.id, p);
    app.grid.upsertParticipant(p);
  }

  app.subscriber = new Subscriber((m) => signaling.send(m));
  app.subscriber.addEventListener("track", (ev) => app.grid.addRemoteTrack(ev.detail.info, ev.detail.track));
  app.subscriber.addEventListener("tracks", (ev) => app.grid.retainTracks(ev.detail));
  app.subscriber.addEventListener("state", (ev) => watchPeer(ev.detail));
  app.publisher = new Publisher((m) => signaling.send(m));
  app.publisher.addEventListener("state", (ev) => watchPeer(ev.detail));
  app.publisher.addEventListener("screenstopped", () => {
    app.screenTrack = null;
    app.grid.setLocalScreen(null);
    updateControls();
  });
  app.grid.setLocalVideo(app.stream.getVideoTracks()[0] || null);
  setState("in");
  await app.publisher.start(app.stream);
  app.publisher.setMicMuted(app.audioMuted);
  if (app.videoMuted) await app.publisher.setCamera(false);
  signaling.send({ type: "media_state", audio_muted: app.audioMuted, video_muted: app.videoMuted });
}

function onMessage(msg) {
  switch (msg.type) {
    case "subscriber_offer":
      app.subscriber?.handleOffer(msg);
      break;
    case "publish_answer":
      app.publisher?.handleAnswer(msg.sdp);
      break;
    case "participant_joined":
    case "participant_updated":
      app.participants.set(msg.participant.id, msg.participant);
      app.grid.upsertParticipant(msg.participant, msg.participant.id === app.me?.id);
      break;
    case "participant_left":
      app.participants.delete(msg.participant_id);
      app.grid.removeParticipant(msg.participant_id);
      break;
    case "track_unpublished":
      app.grid.removeTrack(msg.track);
      break;
    case "active_speakers":
      app.grid.setSpeakers(msg.speakers.map((s) => s.participant_id));
      break;
    case "connection_quality":
      app.grid.setQuality(msg.participant_id, msg.quality);
      break;
    case "error":
      console.warn("seduta: server refused:", msg.code);
      if (msg.code === "invalid_sdp" || msg.code === "negotiation_failed") app.publisher?.handleError(msg.code);
      if (msg.code === "media_lost") onLost(null);
      break;
    default:
      app.meeting?.handle(msg);
      break;
  }
}

// A peer connection that fails, or stays disconnected, means the path is gone.
function watchPeer(state) {
  if (app.state !== "in") return;
  if (state === "failed" || state === "disconnected") console.warn("seduta: peer connection", state);
  if (state === "failed") {
    onLost(null);
  } else if (state === "disconnected") {
    clearTimeout(app.peerTimer);
    app.peerTimer = setTimeout(() => {
      const states = [app.publisher?.pc.connectionState, app.subscriber?.pc.connectionState];
      if (app.state === "in" && states.some((s) => s === "disconnected" || s === "failed")) onLost(null);
    }, PEER_GRACE_MS);
  }
}

async function onLost(fatal) {
  if (app.state !== "in") return;
  console.warn("seduta: connection lost", fatal || "");
  if (fatal) {
    fail(fatal);
    return;
  }
  setState("reconnecting");
  app.meeting?.lost();
  closePeers();
  for (let attempt = 0; app.state === "reconnecting"; attempt++) {
    await new Promise((r) => setTimeout(r, BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]));
    if (app.state !== "reconnecting") return;
    try {
      await connect(true);
      return;
    } catch (e) {
      console.warn("seduta: reconnection attempt failed:", e.code || e.message || e);
      closePeers();
      if (e.fatal) {
        fail(e.code);
        return;
      }
    }
  }
}

function closePeers() {
  clearTimeout(app.peerTimer);
  app.signaling?.close();
  app.signaling = null;
  app.publisher?.close();
  app.publisher = null;
  app.subscriber?.close();
  app.subscriber = null;
  app.screenTrack = null;
}

function teardown() {
  closePeers();
  app.stream?.getTracks().forEach((tr) => tr.stop());
  app.stream = null;
  app.grid?.clearRemote();
}

function leave() {
  app.signaling?.send({ type: "leave" });
  setState("left");
  teardown();
  app.meeting?.reset();
  if (app.me) app.grid.removeParticipant(app.me.id);
  show("view-left");
}

function toggleMic() {
  app.audioMuted = !app.audioMuted;
  app.publisher?.setMicMuted(app.audioMuted);
  sendMediaState();
}

async function toggleCamera() {
  const on = app.videoMuted;
  try {
    const track = await app.publisher?.setCamera(on, app.prejoin.selectedCamera());
    app.stream?.getVideoTracks().forEach((tr) => {
      tr.stop();
      app.stream.removeTrack(tr);
    });
    if (track) app.stream?.addTrack(track);
    app.grid.setLocalVideo(track || null);
    app.videoMuted = !on;
    app.meeting?.refresh();
  } catch {
    app.videoMuted = true;
  }
  sendMediaState();
}

async function toggleScreen() {
  if (app.screenTrack) {
    await app.publisher?.stopScreen();
    return;
  }
  try {
    app.screenTrack = await app.publisher.startScreen();
    app.grid.setLocalScreen(app.screenTrack);
  } catch {
    app.screenTrack = null;
  }
  updateControls();
}

function sendMediaState() {
  app.signaling?.send({ type: "media_state", audio_muted: app.audioMuted, video_muted: app.videoMuted });
  updateControls();
}

function updateControls() {
  const set = (id, pressed, label) => {
    const b = $(id);
    b.setAttribute("aria-pressed", String(pressed));
    b.textContent = label;
    b.setAttribute("aria-label", label);
  };
  set("mic-button", app.audioMuted, t(app.audioMuted ? "call.mic.off" : "call.mic.on"));
  set("cam-button", app.videoMuted, t(app.videoMuted ? "call.cam.off" : "call.cam.on"));
  set("screen-button", !!app.screenTrack, t(app.screenTrack ? "call.screen.stop" : "call.screen.start"));
}

// A new invitation link opened in this tab changes only the fragment: start over.
window.addEventListener("hashchange", () => {
  if (new URLSearchParams(location.hash.slice(1)).has("token")) {
    teardown();
    location.reload();
  }
});

start();
