/* rehearse interview room, Voice mode (issue 13): record or upload a spoken answer.
 *
 * Record uses the browser's MediaRecorder (webm/opus or ogg/opus, whichever it makes) with a
 * level meter (Web Audio AnalyserNode, RMS of the waveform) and a timer; Stop gives a
 * play-back and "Record again" before anything is sent; a file may be uploaded instead.
 * The recording goes to POST /api/v1/sessions/{id}/audio, where it is saved at once as a
 * pending answer; this script polls GET .../spoken/{n} until the transcription worker has
 * transcribed it, shows the transcript in a text box to correct, and "Submit transcript"
 * sends it to POST .../spoken/{n}/submit, which scores it. A transcript the server flags as
 * too poor is shown with the reason and is only sent corrected. interview.js tells this
 * script which question is shown (room data-question-id) and shows the feedback afterwards
 * (the "rehearse:answered" event). No library; nothing fetched from the network.
 */
(function () {
  "use strict";

  const room = document.getElementById("room");
  const box = document.getElementById("voice-box");
  if (!room || !box) return;

  const $ = (id) => document.getElementById(id);
  const ui = {
    record: $("voice-record"),
    stop: $("voice-stop"),
    timer: $("voice-timer"),
    level: $("voice-level"),
    playback: $("voice-playback"),
    send: $("voice-send"),
    rerecord: $("voice-rerecord"),
    file: $("voice-file"),
    status: $("voice-status"),
    review: $("voice-review"),
    transcript: $("voice-transcript"),
    flag: $("voice-flag"),
    metrics: $("voice-metrics"),
    submit: $("voice-submit"),
  };
  const base = "/api/v1/sessions/" + encodeURIComponent(room.dataset.sessionId);
  const POLL_MS = 1000;
  const TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/ogg"];

  let recorder = null;
  let stream = null;
  let audioContext = null;
  let chunks = [];
  let recording = null; // the Blob recorded, not yet sent
  let playbackUrl = null;
  let startedAt = 0;
  let ticker = null;
  let meterFrame = null;
  let pending = null; // the spoken answer being transcribed or reviewed: {sequence, question_id, ...}
  let pollTimer = null;

  function say(text) { ui.status.textContent = text; }
  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function active() { return room.dataset.status === "active" && Boolean(room.dataset.questionId); }

  function call(method, path, body, type) {
    return window.rehearse.api(method, base + path, body, type); // site.js
  }

  // -- recording -------------------------------------------------------------------------

  async function startRecording() {
    if (!active() || recorder) return;
    if (!navigator.mediaDevices || typeof window.MediaRecorder === "undefined") {
      say("This browser cannot record here; upload a recording instead.");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      say("The microphone is not available (" + error.name + "); allow it, or upload a recording.");
      return;
    }
    const type = TYPES.find((t) => MediaRecorder.isTypeSupported(t));
    recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    chunks = [];
    recorder.addEventListener("dataavailable", (event) => {
      if (event.data && event.data.size) chunks.push(event.data);
    });
    recorder.addEventListener("stop", finished);
    recorder.start(250);
    startedAt = performance.now();
    ticker = window.setInterval(tick, 250);
    tick();
    meter();
    clearRecording();
    ui.record.hidden = true;
    ui.stop.hidden = false;
    ui.stop.focus();
    say("Recording… press Stop when you are done.");
  }

  function tick() {
    ui.timer.textContent = duration((performance.now() - startedAt) / 1000);
  }

  function meter() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    audioContext = new Context();
    const analyser = audioContext.createAnalyser();
    analyser.fftSize = 1024;
    audioContext.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const paint = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (let i = 0; i < samples.length; i += 1) sum += samples[i] * samples[i];
      // RMS of the waveform, scaled so that speech fills most of the meter
      ui.level.value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
      ui.level.dataset.peak = String(Math.max(Number(ui.level.dataset.peak || 0), ui.level.value));
      meterFrame = window.requestAnimationFrame(paint);
    };
    paint();
  }

  function stopRecording() {
    if (recorder && recorder.state !== "inactive") recorder.stop();
  }

  function finished() {
    const type = recorder.mimeType || "audio/webm";
    recording = new Blob(chunks, { type });
    recorder = null;
    window.clearInterval(ticker);
    if (meterFrame) window.cancelAnimationFrame(meterFrame);
    meterFrame = null;
    ui.level.value = 0;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    if (audioContext) audioContext.close();
    audioContext = null;
    playbackUrl = URL.createObjectURL(recording);
    ui.playback.src = playbackUrl;
    ui.playback.hidden = false;
    ui.stop.hidden = true;
    ui.send.hidden = false;
    ui.rerecord.hidden = false;
    ui.send.focus();
    say("Recorded " + ui.timer.textContent + ". Listen to it, record again, or send it.");
  }

  function clearRecording() {
    recording = null;
    if (playbackUrl) URL.revokeObjectURL(playbackUrl);
    playbackUrl = null;
    ui.playback.removeAttribute("src");
    ui.playback.hidden = true;
    ui.send.hidden = true;
    ui.rerecord.hidden = true;
  }

  function recordAgain() {
    clearRecording();
    ui.timer.textContent = "0:00";
    ui.record.hidden = false;
    startRecording();
  }

  // -- sending, transcription, review ----------------------------------------------------------

  async function send(blob, name) {
    if (!active()) return;
    const questionId = room.dataset.questionId;
    const form = new FormData();
    form.append("file", blob, name);
    form.append("question_id", questionId);
    ui.send.disabled = true;
    ui.record.disabled = true;
    say("Sending the recording…");
    try {
      pending = await call("POST", "/audio", form);
      clearRecording();
      ui.record.hidden = false;
      ui.timer.textContent = "0:00";
      say("Saved. Transcribing…");
      poll();
    } catch (error) {
      say(error.message);
    } finally {
      ui.send.disabled = false;
      ui.record.disabled = false;
    }
  }

  function poll() {
    if (pollTimer) window.clearTimeout(pollTimer);
    pollTimer = window.setTimeout(async () => {
      pollTimer = null;
      if (!pending) return;
      try {
        const seen = await call("GET", "/spoken/" + pending.sequence);
        if (!pending || seen.sequence !== pending.sequence) return;
        pending = seen;
        if (seen.status === "pending" || seen.status === "processing") {
          poll();
        } else {
          review(seen);
        }
      } catch (error) {
        say(error.message);
        poll();
      }
    }, POLL_MS);
  }

  function review(spoken) {
    if (spoken.status === "failed") {
      say("The recording could not be transcribed (" + (spoken.error || "unknown error") +
        "). Record again, upload another file, or type your answer.");
      pending = null;
      return;
    }
    ui.review.hidden = false;
    ui.transcript.value = spoken.transcript || "";
    ui.flag.hidden = !spoken.quality_flag;
    ui.flag.textContent = spoken.quality_flag
      ? "Too poor to score as it is: " + spoken.quality_flag + ". Correct the transcript, or record again."
      : "";
    const m = spoken.metrics;
    ui.metrics.textContent = m
      ? Math.round(m.words_per_minute) + " words per minute, " + m.filler_count + " filler" +
        (m.filler_count === 1 ? "" : "s") + ", " + m.long_pause_count + " long pause" +
        (m.long_pause_count === 1 ? "" : "s")
      : "";
    say("Transcribed. Read it, correct it if needed, then submit it.");
    ui.transcript.focus();
  }

  async function submitTranscript() {
    if (!pending) return;
    const text = ui.transcript.value.trim();
    if (!text) {
      say("The transcript is empty: type your answer, or record again.");
      return;
    }
    const body = text === (pending.transcript || "").trim() ? {} : { transcript: text };
    ui.submit.disabled = true;
    try {
      const result = await call("POST", "/spoken/" + pending.sequence + "/submit",
        JSON.stringify(body), "application/json");
      pending = null;
      ui.review.hidden = true;
      ui.transcript.value = "";
      say("Transcript submitted.");
      room.dispatchEvent(new CustomEvent("rehearse:answered", { detail: result }));
    } catch (error) {
      say(error.message);
    } finally {
      ui.submit.disabled = false;
    }
  }

  function reset() {
    // a new question: whatever was being reviewed belonged to the last one
    if (recorder) stopRecording();
    clearRecording();
    pending = null;
    ui.review.hidden = true;
    ui.record.hidden = false;
    ui.stop.hidden = true;
    ui.timer.textContent = "0:00";
    enable();
  }

  function enable() {
    const off = room.dataset.status !== "active";
    ui.record.disabled = off;
    ui.file.disabled = off;
    ui.submit.disabled = off;
    if (off && recorder) stopRecording(); // paused or ended while recording: keep what was said
  }

  ui.record.addEventListener("click", startRecording);
  ui.stop.addEventListener("click", stopRecording);
  ui.rerecord.addEventListener("click", recordAgain);
  ui.send.addEventListener("click", () => {
    if (recording) send(recording, recording.type.indexOf("ogg") >= 0 ? "answer.ogg" : "answer.webm");
  });
  ui.file.addEventListener("change", () => {
    const chosen = ui.file.files && ui.file.files[0];
    if (chosen) send(chosen, chosen.name);
    ui.file.value = "";
  });
  ui.submit.addEventListener("click", submitTranscript);
  room.addEventListener("rehearse:question", reset);
  // interview.js sets data-status on every render: started, paused, resumed, ended
  new MutationObserver(enable).observe(room, { attributes: true, attributeFilter: ["data-status"] });
})();
