// Interface texts: Italian first, English second. The choice is remembered.

const TEXTS = {
  it: {
    "notoken.title": "Serve un link di invito",
    "notoken.body": "Per partecipare alla seduta apra il link personale ricevuto dalla segreteria. Il link identifica lei e la seduta: non lo inoltri ad altri.",
    "error.title": "Impossibile partecipare",
    "error.retry": "Riprova",
    "prejoin.title": "Verifica di videocamera e microfono",
    "prejoin.camera": "Videocamera",
    "prejoin.microphone": "Microfono",
    "prejoin.join": "Entra nella seduta",
    "prejoin.nodevice": "Videocamera o microfono non disponibili: controlli i permessi del browser.",
    "call.leave": "Esci",
    "call.mic.on": "Disattiva microfono",
    "call.mic.off": "Attiva microfono",
    "call.cam.on": "Spegni videocamera",
    "call.cam.off": "Accendi videocamera",
    "call.screen.start": "Condividi schermo",
    "call.screen.stop": "Interrompi condivisione",
    "call.you": "Lei",
    "call.screen": "schermo condiviso",
    "call.muted": "microfono disattivato",
    "call.camoff": "videocamera spenta",
    "call.reconnecting": "Connessione persa, riconnessione in corso…",
    "call.participant.reconnecting": "in riconnessione",
    "quality.excellent": "Connessione ottima",
    "quality.good": "Connessione buona",
    "quality.poor": "Connessione scarsa",
    "quality.lost": "Connessione assente",
    "left.title": "Ha lasciato la seduta",
    "left.body": "Può rientrare finché il link di invito è valido.",
    "left.rejoin": "Rientra",
    "role.presiding": "Sindaco",
    "role.member": "Assessore",
    "role.segretario": "Segretario",
    "role.guest": "Ospite",
    "err.token_expired": "Il link di invito è scaduto. Ne chieda uno nuovo alla segreteria.",
    "err.token_not_yet_valid": "Il link di invito non è ancora valido.",
    "err.token_invalid": "Il link di invito non è valido.",
    "err.token_wrong_audience": "Il link di invito non è stato emesso per questo server.",
    "err.token_wrong_session": "Il link di invito è per un'altra seduta.",
    "err.session_replaced": "È entrato con lo stesso link da un'altra finestra o da un altro dispositivo.",
    "err.session_closed": "La seduta è stata chiusa.",
    "err.join_timeout": "Il server non ha ricevuto la richiesta di ingresso in tempo.",
    "err.generic": "Si è verificato un errore ({code}).",
    "err.network": "Il server non è raggiungibile.",
  },
  en: {
    "notoken.title": "An invitation link is needed",
    "notoken.body": "To take part in the session, open the personal link you received from the secretariat. The link identifies you and the session: do not forward it.",
    "error.title": "Unable to join",
    "error.retry": "Try again",
    "prejoin.title": "Camera and microphone check",
    "prejoin.camera": "Camera",
    "prejoin.microphone": "Microphone",
    "prejoin.join": "Join the session",
    "prejoin.nodevice": "Camera or microphone unavailable: check the browser's permissions.",
    "call.leave": "Leave",
    "call.mic.on": "Mute microphone",
    "call.mic.off": "Unmute microphone",
    "call.cam.on": "Turn camera off",
    "call.cam.off": "Turn camera on",
    "call.screen.start": "Share screen",
    "call.screen.stop": "Stop sharing",
    "call.you": "You",
    "call.screen": "shared screen",
    "call.muted": "microphone muted",
    "call.camoff": "camera off",
    "call.reconnecting": "Connection lost, reconnecting…",
    "call.participant.reconnecting": "reconnecting",
    "quality.excellent": "Excellent connection",
    "quality.good": "Good connection",
    "quality.poor": "Poor connection",
    "quality.lost": "No connection",
    "left.title": "You left the session",
    "left.body": "You can rejoin while your invitation link is valid.",
    "left.rejoin": "Rejoin",
    "role.presiding": "Mayor",
    "role.member": "Councillor",
    "role.segretario": "Secretary",
    "role.guest": "Guest",
    "err.token_expired": "The invitation link has expired. Ask the secretariat for a new one.",
    "err.token_not_yet_valid": "The invitation link is not valid yet.",
    "err.token_invalid": "The invitation link is not valid.",
    "err.token_wrong_audience": "The invitation link was not issued for this server.",
    "err.token_wrong_session": "The invitation link is for another session.",
    "err.session_replaced": "You joined with the same link from another window or device.",
    "err.session_closed": "The session was closed.",
    "err.join_timeout": "The server did not receive the join request in time.",
    "err.generic": "An error occurred ({code}).",
    "err.network": "The server cannot be reached.",
  },
};

const listeners = new Set();
let lang = localStorage.getItem("seduta.lang") === "en" ? "en" : "it";

export function currentLang() {
  return lang;
}

export function t(key, vars = {}) {
  const text = TEXTS[lang][key] ?? TEXTS.it[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => vars[name] ?? "");
}

export function setLang(next) {
  lang = next === "en" ? "en" : "it";
  localStorage.setItem("seduta.lang", lang);
  document.documentElement.lang = lang;
  applyTexts(document);
  listeners.forEach((fn) => fn(lang));
}

export function onLangChange(fn) {
  listeners.add(fn);
}

// Fills every element marked with data-i18n.
export function applyTexts(root) {
  root.querySelectorAll("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
}

export function errorText(code) {
  const key = `err.${code}`;
  return key in TEXTS.it ? t(key) : t("err.generic", { code });
}
