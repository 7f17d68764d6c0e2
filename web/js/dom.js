// Small DOM helpers: build elements without innerHTML (names come from outside and
// are never parsed as markup), and replace a section only when its content changed,
// so that a button under the pointer is not swapped between press and release.

// h("button", {class: "x", testid: "y", onclick}, "text", child, [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "testid") el.setAttribute("data-testid", value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

// Replaces `container`'s children with `nodes` unless the markup is the same.
// Keeps the keyboard focus on the control with the same data-testid.
export function patch(container, nodes) {
  const next = document.createElement(container.tagName);
  append(next, [nodes]);
  if (next.innerHTML === container.innerHTML) return false;
  const focused = container.contains(document.activeElement) ? document.activeElement?.getAttribute("data-testid") : null;
  container.replaceChildren(...next.childNodes);
  if (focused) container.querySelector(`[data-testid="${CSS.escape(focused)}"]`)?.focus();
  return true;
}

// Clicks on any `[data-act]` inside `root` call `onAct(action, element)`, where
// `action` is the element's data-act JSON. One listener for content that is
// re-rendered often.
export function delegateActions(root, onAct) {
  root.addEventListener("click", (ev) => {
    const el = ev.target.closest("[data-act]");
    if (!el || !root.contains(el) || el.disabled) return;
    let action;
    try {
      action = JSON.parse(el.dataset.act);
    } catch {
      return;
    }
    onAct(action, el);
  });
}

// A button that runs a meeting action when clicked (see delegateActions).
// `confirm`: an i18n key (with `vars`); the action runs only after the user confirms it.
export function actButton(label, action, { testid, cls, confirm, vars, disabled, title, ariaLabel, pressed } = {}) {
  return h("button", {
    type: "button",
    class: cls,
    testid,
    "data-act": JSON.stringify(action),
    "data-confirm": confirm,
    "data-confirm-vars": confirm && vars ? JSON.stringify(vars) : null,
    disabled: !!disabled,
    title,
    "aria-label": ariaLabel,
    "aria-pressed": pressed === undefined ? null : String(pressed),
  }, label);
}
