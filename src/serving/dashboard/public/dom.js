// Small DOM helpers. Text goes in as text (textContent), never as markup: keys and view names
// are whatever the events and the config carried.

/** An element with properties (`text`, `class`, `data-*`, or any DOM property) and children. */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') node.textContent = v
    else if (k === 'class') node.className = v
    else if (k.startsWith('data-')) node.setAttribute(k, v)
    else node[k] = v
  }
  for (const child of children) node.append(child)
  return node
}

/** One entry of a chart legend: a swatch of the series' colour, its name, its value. */
export function legendItem(series, label, value) {
  return el('span', { class: `legend-item ${series}` }, [
    el('span', { class: 'swatch' }),
    el('span', { class: 'legend-label', text: label }),
    el('strong', { text: value }),
  ])
}
