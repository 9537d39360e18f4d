// The pairing code as a QR code, drawn on a canvas from uqr's module matrix (no SVG or HTML
// strings, so nothing goes through innerHTML).

import { encode } from "uqr";

export function qrCanvas(text, size = 200) {
  const { data } = encode(text, { ecc: "M", border: 2 });
  const n = data.length;
  const scale = Math.max(1, Math.floor(size / n));
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = n * scale;
  canvas.className = "qr";
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = "#000";
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) if (data[y][x]) g.fillRect(x * scale, y * scale, scale, scale);
  return canvas;
}
