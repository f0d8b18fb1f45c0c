// DOM helpers the page's renderers share: lookup by id, keyed list reconciliation, and
// text that is only written when it changed (so re-rendering keeps focus and selection).

export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** Reuse list items by key so that re-rendering keeps focus and does not flicker. */
export function reconcile(list, keys, create) {
  const existing = new Map([...list.children].map((li) => [li.dataset.key, li]));
  const items = keys.map((key) => {
    let li = existing.get(key);
    if (!li) {
      li = create(key);
      li.dataset.key = key;
    }
    existing.delete(key);
    return li;
  });
  for (const stale of existing.values()) stale.remove();
  items.forEach((li, i) => {
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
  });
  return items;
}

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
