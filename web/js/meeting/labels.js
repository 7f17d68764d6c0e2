// Words for the meeting's states, in the current language: presence, phase,
// connection, ballots, votes, outcomes, quorum, refused actions.

import { currentLang, t } from "../i18n.js";

export function presenceText(presence) {
  if (!presence) return t("presence.unknown");
  switch (presence.state) {
    case "present":
      return t(presence.mode === "in_person" ? "presence.present.in_person" : "presence.present.remote");
    case "abstaining":
      return t("presence.abstaining", { item: presence.item });
    default:
      return t(`presence.${presence.state}`);
  }
}

export function phaseText(phase) {
  return t(`phase.${phase}`);
}

export function linkText(link) {
  return t(`link.${link}`);
}

export function roleText(role) {
  return t(`role.${role}`);
}

export function ballotText(ballot) {
  return t(`ballot.${ballot}`);
}

export function voteKindText(kind) {
  return t(`votekind.${kind}`);
}

// An RFC 3339 string or milliseconds, as a local time (with the date if not today).
export function timeText(value) {
  if (value === undefined || value === null || value === "") return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const locale = currentLang() === "en" ? "en-GB" : "it-IT";
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit" })
    : d.toLocaleString(locale, { dateStyle: "short", timeStyle: "short" });
}

export function dateTimeText(value) {
  if (value === undefined || value === null || value === "") return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleString(currentLang() === "en" ? "en-GB" : "it-IT", { dateStyle: "medium", timeStyle: "short" });
}

// "Numero legale raggiunto: 4 presenti su 3 richiesti (7 in carica)"
export function quorumText(q) {
  if (!q) return "";
  return t(q.reached ? "quorum.reached" : "quorum.missing", { counted: q.counted, required: q.required, in_office: q.in_office });
}

export function countText(c) {
  return t("count.line", { fav: c.favorevoli, con: c.contrari, ast: c.astenuti, pres: c.presenti });
}

export function outcomeText(outcome) {
  let text = t(outcome.approved ? "outcome.approved" : "outcome.rejected");
  if (outcome.tie) text += ` — ${t(outcome.decided_by_presiding ? "outcome.tie.presiding" : "outcome.tie")}`;
  return text;
}

export function itemText(item) {
  if (!item) return t("item.none");
  return item.subject ? t("item.line", { n: item.number, subject: item.subject }) : t("item.number", { n: item.number });
}

export function lostText(lost) {
  return t(`lost.${lost}`);
}

// A refused action, in words: our text for known codes, else the server's message.
export function actionErrorText(code, message) {
  const key = `acterr.${code}`;
  const known = t(key, { message: message ?? "" });
  if (known !== key) return known;
  return message ? t("acterr.other", { message, code }) : t("acterr.generic", { code });
}
