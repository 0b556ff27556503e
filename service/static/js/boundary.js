// A decision boundary drawn from GET /jobs/{id}/boundary (JSON): the model's prediction over the grid as
// filled regions (the course's plot_decision_boundary; a paler tone where the model is less sure), the
// 0.5 contour, and the training points coloured by label on top.

const BLUE = [48, 86, 211];
const RED = [232, 89, 12];

function mix(p) {
  const [side, sure] = p >= 0.5 ? [RED, (p - 0.5) * 2] : [BLUE, (0.5 - p) * 2];
  const t = 0.28 + 0.32 * sure;
  return side.map((c) => Math.round(255 - (255 - c) * t));
}

/** Draw `boundary` ({ x, y, probabilities, points }) on `canvas` (its CSS size, sharp on HiDPI). */
export function drawBoundary(canvas, boundary) {
  const ratio = window.devicePixelRatio || 1;
  const size = canvas.clientWidth || 240;
  canvas.width = canvas.height = Math.round(size * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  const { x, y, probabilities: grid, points } = boundary;
  const nx = x.length, ny = y.length;
  const [x0, x1, y0, y1] = [x[0], x[nx - 1], y[0], y[ny - 1]];
  const px = (v) => ((v - x0) / (x1 - x0)) * size;
  const py = (v) => size - ((v - y0) / (y1 - y0)) * size;

  const image = new ImageData(nx, ny);
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      const [r, g, b] = mix(grid[i][j]);
      const at = ((ny - 1 - i) * nx + j) * 4; // row 0 is the lowest y: the bottom of the picture
      image.data.set([r, g, b, 255], at);
    }
  }
  const tile = document.createElement("canvas");
  tile.width = nx; tile.height = ny;
  tile.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(tile, 0, 0, size, size);

  ctx.fillStyle = "rgba(29, 36, 51, .55)"; // the 0.5 contour, where the prediction changes
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      const here = grid[i][j] >= 0.5;
      if ((j + 1 < nx && (grid[i][j + 1] >= 0.5) !== here) || (i + 1 < ny && (grid[i + 1][j] >= 0.5) !== here)) {
        ctx.fillRect(px(x[j]) - 0.6, py(y[i]) - 0.6, 1.2, 1.2);
      }
    }
  }
  for (let k = 0; k < points.x.length; k++) {
    ctx.beginPath();
    ctx.arc(px(points.x[k]), py(points.y[k]), 2.6, 0, 2 * Math.PI);
    ctx.fillStyle = points.label[k] ? `rgb(${RED})` : `rgb(${BLUE})`;
    ctx.strokeStyle = "rgba(255,255,255,.9)";
    ctx.lineWidth = 0.8;
    ctx.fill();
    ctx.stroke();
  }
}
