// Keyboard shortcuts for the frequent moves. Typing in a field never triggers one (Escape aside).

function typing(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  return !["checkbox", "radio", "button", "submit", "reset"].includes(target.type);
}

/** bindings: {"j": fn, "Escape": fn, ...}; a binding returns false when it did nothing. */
export function bindKeys(bindings) {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    if (key !== "Escape" && typing(event.target)) return;
    // Enter on a button or link is the element's own click.
    if (key === "Enter" && event.target instanceof Element && event.target.closest("button, a, summary")) return;
    const action = bindings[key];
    if (!action) return;
    if (action(event) !== false) event.preventDefault();
  });
}
