// A QR code of a link, drawn as SVG with DOM APIs (no innerHTML, no data: URLs, so the CSP
// stays strict). The matrix comes from the vendored uqr encoder.

import { encode } from '../vendor/uqr/index.mjs';

const SVG_NS = 'http://www.w3.org/2000/svg';
const QUIET_ZONE = 4; // modules of margin the standard asks for

/**
 * @param {string} text
 * @returns {SVGSVGElement}
 */
export function qrSvg(text) {
  const { data, size } = encode(text, { ecc: 'M', border: 0 });
  const total = size + 2 * QUIET_ZONE;
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${total} ${total}`);
  // A whole number of pixels per module keeps the modules even (and scanners happy).
  const scale = Math.max(2, Math.floor(168 / total));
  svg.setAttribute('width', String(total * scale));
  svg.setAttribute('height', String(total * scale));
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('aria-hidden', 'true');
  const background = document.createElementNS(SVG_NS, 'rect');
  background.setAttribute('width', String(total));
  background.setAttribute('height', String(total));
  background.setAttribute('class', 'qr-light');
  svg.append(background);
  let d = '';
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (data[y][x]) d += `M${x + QUIET_ZONE} ${y + QUIET_ZONE}h1v1h-1z`;
    }
  }
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', d);
  path.setAttribute('class', 'qr-dark');
  svg.append(path);
  return svg;
}
