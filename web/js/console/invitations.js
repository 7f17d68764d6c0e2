// Staff console: invitation links. One per participant or for everyone at once
// (POST /api/sessions/{id}/invitations); a link is shown only right after it is
// made (the server keeps no token), with a copy button. The list of invitations
// (GET) shows which are valid, expired or revoked, each with "Revoca".

import { confirmDialog } from "../confirm.js";
import { h, patch } from "../dom.js";
import { t } from "../i18n.js";
import { dateTimeText } from "../meeting/labels.js";
import { api, apiErrorText } from "./api.js";

const links = new Map(); // `${session}/${participant}` -> {link, jti, expires_at_ms}

export class Invitations {
  // participants: [{id, name, role}]; ctx: {error(text), notice(text)}
  constructor(sessionId, participants, ctx) {
    this.sessionId = sessionId;
    this.participants = participants;
    this.ctx = ctx;
    this.cells = new Map(); // participant id -> element
    this.list = h("div", { class: "invitation-list" });
    this.ttl = h("input", { type: "number", min: "1", max: "720", step: "1", testid: "invite-ttl", placeholder: t("invite.ttl.placeholder") });
    const all = h("button", { type: "button", class: "primary", testid: "invite-all" }, t("invite.all"));
    all.addEventListener("click", () => this.create(undefined, all));
    this.list.addEventListener("click", (ev) => {
      const b = ev.target.closest("[data-revoke]");
      if (b) this.revoke(b.dataset.revoke, b, b.dataset.name);
    });
    this.root = h("section", { class: "card", "aria-labelledby": "invitations-title" },
      h("h2", { id: "invitations-title" }, t("invite.title")),
      h("p", { class: "muted" }, t("invite.body")),
      h("div", { class: "form-row" },
        h("label", null, h("span", null, t("invite.ttl")), this.ttl),
        all,
      ),
      this.list,
    );
  }

  key(pid) {
    return `${this.sessionId}/${pid}`;
  }

  // The cell of a participant's row: a button that makes their link, and the link.
  cellFor(p) {
    const cell = h("div", { class: "invite-cell" });
    cell.addEventListener("click", (ev) => {
      const make = ev.target.closest("[data-invite]");
      if (make) this.create(make.dataset.invite, make);
      const copy = ev.target.closest("[data-copy]");
      if (copy) this.copy(p.id, copy);
    });
    this.cells.set(p.id, cell);
    this.renderCell(p);
    return cell;
  }

  renderCell(p) {
    const cell = this.cells.get(p.id);
    if (!cell) return;
    const made = links.get(this.key(p.id));
    patch(cell, [
      h("button", { type: "button", class: "small", testid: `invite-${p.id}`, "data-invite": p.id, "aria-label": t("invite.one.label", { name: p.name }) },
        t(made ? "invite.again" : "invite.one")),
      made
        ? h("div", { class: "invite-link" },
            h("code", { testid: `invite-link-${p.id}` }, made.link),
            h("button", { type: "button", class: "small", testid: `copy-${p.id}`, "data-copy": p.id, "aria-label": t("invite.copy.label", { name: p.name }) }, t("invite.copy")),
            h("span", { class: "muted small" }, t("invite.expires", { time: dateTimeText(made.expires_at_ms) })),
          )
        : null,
    ]);
  }

  async create(participantId, button) {
    const body = {};
    if (participantId) body.participant_id = participantId;
    const hours = Number(this.ttl.value);
    if (this.ttl.value && Number.isFinite(hours) && hours >= 1) body.ttl_hours = Math.round(hours);
    button.disabled = true;
    try {
      const made = await api("POST", `/api/sessions/${encodeURIComponent(this.sessionId)}/invitations`, body);
      for (const m of made) links.set(this.key(m.participant_id), m);
      this.participants.forEach((p) => this.renderCell(p));
      this.ctx.notice(t("invite.made", { n: made.length }));
      await this.refresh();
    } catch (e) {
      this.ctx.error(apiErrorText(e));
    } finally {
      button.disabled = false;
    }
  }

  async copy(pid, button) {
    const made = links.get(this.key(pid));
    if (!made) return;
    let ok = false;
    try {
      await navigator.clipboard.writeText(made.link);
      ok = true;
    } catch {
      // Without the clipboard API: select the link so that Ctrl+C copies it.
      const code = this.cells.get(pid)?.querySelector("code");
      if (code) {
        const range = document.createRange();
        range.selectNodeContents(code);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
      }
    }
    button.textContent = t(ok ? "invite.copied" : "invite.select");
    setTimeout(() => (button.textContent = t("invite.copy")), 2000);
  }

  async revoke(jti, button, name) {
    if (!(await confirmDialog(t("invite.revoke.confirm", { name }), t("invite.revoke")))) return;
    button.disabled = true;
    try {
      await api("DELETE", `/api/invitations/${encodeURIComponent(jti)}`);
      for (const [key, m] of links) if (m.jti === jti) links.delete(key);
      this.participants.forEach((p) => this.renderCell(p));
      this.ctx.notice(t("invite.revoked"));
      await this.refresh();
    } catch (e) {
      this.ctx.error(apiErrorText(e));
      button.disabled = false;
    }
  }

  async refresh() {
    let list;
    try {
      list = await api("GET", `/api/sessions/${encodeURIComponent(this.sessionId)}/invitations`);
    } catch (e) {
      this.ctx.error(apiErrorText(e));
      return;
    }
    const name = (id) => this.participants.find((p) => p.id === id)?.name ?? id;
    const now = Date.now();
    const sorted = [...list].sort((a, b) => b.created_at_ms - a.created_at_ms);
    patch(this.list, sorted.length === 0
      ? h("p", { class: "muted", testid: "invitations-empty" }, t("invite.none"))
      : h("table", { class: "data", testid: "invitations" },
          h("thead", null, h("tr", null,
            ["invite.col.who", "invite.col.created", "invite.col.expires", "invite.col.state", "invite.col.actions"].map((k) => h("th", { scope: "col" }, t(k))),
          )),
          h("tbody", null, sorted.map((inv) => {
            const state = inv.revoked_at_ms ? "revoked" : inv.expires_at_ms <= now ? "expired" : "valid";
            return h("tr", { testid: `invitation-row-${inv.jti}`, "data-state": state },
              h("th", { scope: "row" }, name(inv.participant_id)),
              h("td", null, dateTimeText(inv.created_at_ms)),
              h("td", null, dateTimeText(inv.expires_at_ms)),
              h("td", { testid: `invitation-state-${inv.jti}` },
                state === "revoked" ? t("invite.state.revoked", { time: dateTimeText(inv.revoked_at_ms) }) : t(`invite.state.${state}`)),
              h("td", null, state === "valid"
                ? h("button", { type: "button", class: "small danger", testid: `revoke-${inv.jti}`, "data-revoke": inv.jti, "data-name": name(inv.participant_id), "aria-label": t("invite.revoke.label", { name: name(inv.participant_id) }) }, t("invite.revoke"))
                : null),
            );
          })),
        ));
  }
}
