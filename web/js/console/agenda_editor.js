// An editable agenda: one subject per item, numbered in order, items added and
// removed. value() gives [{number, subject}] without empty subjects.

import { h } from "../dom.js";
import { t } from "../i18n.js";

export class AgendaEditor {
  constructor(items = [], prefix = "agenda") {
    this.prefix = prefix;
    this.list = h("ol", { class: "agenda-editor", testid: `${prefix}-items` });
    this.add = h("button", { type: "button", testid: `${prefix}-add` }, t("agenda.add"));
    this.add.addEventListener("click", () => {
      this.addRow("");
      this.renumber();
      this.list.lastElementChild?.querySelector("input")?.focus();
    });
    this.root = h("div", { class: "agenda-edit" }, this.list, this.add);
    (items.length ? items : [{ subject: "" }]).forEach((a) => this.addRow(a.subject));
    this.renumber();
  }

  addRow(subject) {
    const input = h("input", { type: "text", class: "agenda-subject-input", maxlength: "500" });
    input.value = subject;
    const remove = h("button", { type: "button", class: "small" }, t("agenda.remove"));
    const row = h("li", null, h("label", null, h("span", { class: "agenda-n" }), input), remove);
    remove.addEventListener("click", () => {
      row.remove();
      this.renumber();
    });
    this.list.appendChild(row);
  }

  renumber() {
    [...this.list.children].forEach((row, i) => {
      const n = i + 1;
      row.querySelector(".agenda-n").textContent = `${n}.`;
      const input = row.querySelector("input");
      input.setAttribute("data-testid", `${this.prefix}-subject-${n}`);
      input.setAttribute("aria-label", t("agenda.subject", { n }));
      const remove = row.querySelector("button");
      remove.setAttribute("data-testid", `${this.prefix}-remove-${n}`);
      remove.setAttribute("aria-label", t("agenda.remove.label", { n }));
    });
  }

  value() {
    return [...this.list.querySelectorAll("input")]
      .map((i) => i.value.trim())
      .filter(Boolean)
      .map((subject, i) => ({ number: i + 1, subject }));
  }
}
