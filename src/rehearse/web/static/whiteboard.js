/* rehearse whiteboard: pointer events draw on a <canvas>; no library, nothing fetched.
 *
 * window.RehearseWhiteboard.create(canvas, onChange) returns
 *   { clear(), isBlank(), toBlob() -> Promise<Blob|null>, toDataURL(), load(dataUrl) }.
 * The canvas keeps its own resolution (its width/height attributes); pointer positions
 * are scaled from its on-screen size, so it works at any CSS width.
 */
(function () {
  "use strict";

  var BACKGROUND = "#ffffff";
  var INK = "#1c2230";

  function create(canvas, onChange) {
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var blank = true;
    var last = null;

    function fill() {
      ctx.save();
      ctx.fillStyle = BACKGROUND;
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.restore();
    }

    function point(event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - box.left) * (canvas.width / box.width),
        y: (event.clientY - box.top) * (canvas.height / box.height),
      };
    }

    function stroke(from, to, pressure) {
      ctx.strokeStyle = INK;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.lineWidth = 3 + 3 * (pressure || 0.5);
      ctx.beginPath();
      ctx.moveTo(from.x, from.y);
      ctx.lineTo(to.x, to.y);
      ctx.stroke();
    }

    function changed() {
      blank = false;
      if (onChange) onChange();
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (event.button !== 0 && event.pointerType === "mouse") return;
      drawing = true;
      last = point(event);
      canvas.setPointerCapture(event.pointerId);
      stroke(last, { x: last.x + 0.01, y: last.y + 0.01 }, event.pressure);
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      var next = point(event);
      stroke(last, next, event.pressure);
      last = next;
      event.preventDefault();
    });
    function finish(event) {
      if (!drawing) return;
      drawing = false;
      last = null;
      if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
      changed();
    }
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);

    fill();

    return {
      clear: function () {
        fill();
        blank = true;
        if (onChange) onChange();
      },
      isBlank: function () {
        return blank;
      },
      toBlob: function () {
        return new Promise(function (resolve) {
          canvas.toBlob(resolve, "image/png");
        });
      },
      toDataURL: function () {
        return canvas.toDataURL("image/png");
      },
      load: function (dataUrl) {
        fill();
        blank = true;
        if (!dataUrl) return;
        var image = new Image();
        image.onload = function () {
          ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
          blank = false;
        };
        image.src = dataUrl;
      },
    };
  }

  window.RehearseWhiteboard = { create: create };
})();
