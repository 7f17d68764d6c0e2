// An in-page confirmation (a modal <dialog>): unlike window.confirm it is styled,
// translated, and testable. Resolves true when confirmed.

import { h } from "./dom.js";
import { t } from "./i18n.js";

let open = null;

export function confirmDialog(message, yesLabel = t("confirm.yes")) {
  if (open) open.close("no");
  return new Promise((resolve) => {
    const yes = h("button", { type: "button", class: "danger", testid: "confirm-yes" }, yesLabel);
    const no = h("button", { type: "button", testid: "confirm-no" }, t("confirm.no"));
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-text", testid: "confirm" },
      h("p", { id: "confirm-text" }, message),
      h("div", { class: "row" }, no, yes),
    );
    yes.addEventListener("click", () => dialog.close("yes"));
    no.addEventListener("click", () => dialog.close("no"));
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (open === dialog) open = null;
      resolve(dialog.returnValue === "yes");
    });
    document.body.appendChild(dialog);
    open = dialog;
    dialog.showModal();
    no.focus();
  });
}
