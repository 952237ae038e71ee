/* Waveform players (wavesurfer.js, vendored) with transcript segments highlighted during playback.
   Without the library the plain <audio> element still plays and still drives the highlight. */
(function () {
  "use strict";
  var players = [];

  function fmt(t) {
    t = Math.max(0, t || 0);
    var m = Math.floor(t / 60), s = Math.floor(t % 60);
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function highlighter(root) {
    var segs = Array.prototype.slice.call(root.querySelectorAll("button.segment"));
    var current = null;
    return function (t) {
      var hit = null;
      for (var i = 0; i < segs.length; i++) {
        var s = parseFloat(segs[i].dataset.start), e = parseFloat(segs[i].dataset.end);
        if (t >= s && t < e) { hit = segs[i]; break; }
      }
      if (hit === current) { return; }
      if (current) { current.classList.remove("active"); current.removeAttribute("aria-current"); }
      if (hit) { hit.classList.add("active"); hit.setAttribute("aria-current", "true"); }
      current = hit;
      root.dataset.activeSegment = hit ? String(segs.indexOf(hit)) : "";
    };
  }

  function pauseOthers(me) {
    players.forEach(function (p) { if (p !== me && p.isPlaying()) { p.pause(); } });
  }

  function setup(root) {
    var audio = root.querySelector("audio");
    var btn = root.querySelector(".play-btn");
    var clock = root.querySelector(".clock");
    var highlight = highlighter(root);
    var api;
    if (window.WaveSurfer) {
      root.classList.add("enhanced");
      var ws = window.WaveSurfer.create({
        container: root.querySelector(".waveform"), media: audio, url: audio.getAttribute("src"),
        height: 64, waveColor: "#9cc0e8", progressColor: "#1d4e89", cursorColor: "#c0392b",
        barWidth: 2, barGap: 1, normalize: true
      });
      api = {
        isPlaying: function () { return ws.isPlaying(); }, pause: function () { ws.pause(); },
        play: function () { pauseOthers(api); return ws.play(); },
        seek: function (t) { ws.setTime(t); }, time: function () { return ws.getCurrentTime(); }
      };
      ws.on("ready", function (d) { btn.disabled = false; clock.textContent = "0:00 / " + fmt(d); root.dataset.ready = "1"; });
      ws.on("timeupdate", function (t) { highlight(t); clock.textContent = fmt(t) + " / " + fmt(ws.getDuration()); });
      ws.on("play", function () { btn.textContent = btn.dataset.pause; });
      ws.on("pause", function () { btn.textContent = btn.dataset.play; });
      ws.on("finish", function () { btn.textContent = btn.dataset.play; });
      btn.dataset.play = btn.textContent;
      btn.dataset.pause = document.documentElement.lang === "en" ? "Pause" : "暂停";
      btn.addEventListener("click", function () { if (ws.isPlaying()) { ws.pause(); } else { api.play(); } });
    } else {
      api = {
        isPlaying: function () { return !audio.paused; }, pause: function () { audio.pause(); },
        play: function () { pauseOthers(api); return audio.play(); },
        seek: function (t) { audio.currentTime = t; }, time: function () { return audio.currentTime; }
      };
      audio.addEventListener("timeupdate", function () { highlight(audio.currentTime); });
      audio.addEventListener("play", function () { pauseOthers(api); });
      root.dataset.ready = "1";
    }
    root.querySelectorAll("button.segment").forEach(function (seg) {
      seg.addEventListener("click", function () {
        var t = parseFloat(seg.dataset.start) + 0.01;
        api.seek(t);
        highlight(t);
        api.play();
      });
    });
    players.push(api);
  }

  document.querySelectorAll(".player").forEach(setup);
})();
