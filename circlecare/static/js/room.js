/* The meeting room: a WebRTC full mesh with signalling over the room's websocket.
   Every pair of people connects directly; the peer already in the room makes the offer to the
   one who arrives. Chat is shown with textContent only, never as HTML. */
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root) return;
  var meetingId = root.getAttribute("data-meeting");
  var isFacilitator = root.getAttribute("data-facilitator") === "1";
  // What members call whoever leads this group ("clinician" for therapy), as the page says it.
  var leader = root.getAttribute("data-leader") || "facilitator";
  var $ = function (id) { return document.getElementById(id); };
  var statusEl = $("room-status");
  var state = { ws: null, peer: null, ice: [], admitted: false, done: false, retry: 0,
                stream: null, audio: true, video: true, hand: false, peers: new Map(),
                gone: new Set(), heard: 0 };

  // A wait the server gives on the page (data-<name>-ms), or the default if it gives none.
  function serverWait(name, fallback) {
    var ms = parseInt(root.getAttribute("data-" + name + "-ms"), 10);
    return ms > 0 ? ms : fallback;
  }

  /* A peer whose "left" never comes (its server process crashed, or its network died) would
     otherwise keep its tile for ever. A connection that stays disconnected this long, or fails,
     is checked: if the peer still answers over the socket the connection is made afresh, and if
     not they are taken off the page. */
  var GRACE_MS = serverWait("grace", 15000);
  // How long a peer has to answer "are you there?" over the socket before it counts as gone.
  var ANSWER_MS = serverWait("answer", 5000);
  // The question must be answerable before the grace period runs out.
  if (GRACE_MS <= ANSWER_MS) { GRACE_MS = 15000; ANSWER_MS = 5000; }
  // How often this page tells the server it is still here, so that its place in the room's
  // count is kept; a page that goes silent is taken, after a while, for a dead connection.
  var ALIVE_MS = serverWait("alive", 15000);

  var ELSEWHERE = "This meeting is now open in another tab or on another device, so it has " +
    "closed here. You can carry on there.";

  function setStatus(text) { statusEl.textContent = text; }

  // Comings and goings of other people, in their own polite live region, so they never
  // overwrite what the status line says about this person's own place in the meeting.
  function announce(text) { $("room-news").textContent = text; }

  function send(message) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
  }

  function startMedia() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return Promise.resolve(null);
    return navigator.mediaDevices.getUserMedia({
      audio: true, video: { width: 320, height: 240, frameRate: 15 }
    }).then(function (stream) {
      state.stream = stream;
      $("room-self").srcObject = stream;
      return stream;
    }).catch(function () {
      setStatus("We couldn't use your camera or microphone. You can still see, hear and chat.");
      return null;
    });
  }

  /* --- peers ------------------------------------------------------------------------------ */

  function tileFor(peer, name) {
    var li = document.createElement("li");
    li.className = "room-tile";
    li.setAttribute("data-peer", peer);
    var video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute("aria-label", "Video of " + name);
    var label = document.createElement("span");
    label.className = "room-name";
    label.textContent = name;
    li.appendChild(video);
    li.appendChild(label);
    $("room-videos").appendChild(li);
    return li;
  }

  function personFor(peer, name) {
    var li = document.createElement("li");
    li.setAttribute("data-peer", peer);
    li.setAttribute("data-name", name);
    var who = document.createElement("span");
    who.className = "room-person-name";
    who.textContent = name;
    var hand = document.createElement("span");
    hand.className = "badge badge-warning room-hand";
    hand.textContent = "Hand raised";
    hand.hidden = true;
    li.appendChild(who);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(hand);
    if (isFacilitator) {
      var mute = document.createElement("button");
      mute.type = "button";
      mute.className = "btn btn-link room-lead-only";
      mute.textContent = "Ask to mute";
      // The name starts with the words on the button, so saying them (voice control) finds it.
      mute.setAttribute("aria-label", "Ask to mute " + name);
      mute.addEventListener("click", function () { send({ type: "ask_mute", peer: peer }); });
      // Removing someone is rare: its form waits behind a disclosure, with a label on view
      // (a placeholder would go when typing starts, and is cut short on a phone).
      var disclosure = document.createElement("details");
      disclosure.className = "room-remove room-lead-only";
      var summary = document.createElement("summary");
      summary.textContent = "Remove\u2026";
      summary.setAttribute("aria-label", "Remove " + name + "\u2026");
      var form = document.createElement("form");
      form.className = "stack";
      var id = "reason-" + peer;
      var label = document.createElement("label");
      label.setAttribute("for", id);
      label.textContent = "Reason for removing " + name + " (kept with the practice)";
      label.className = "field-label";
      var input = document.createElement("input");
      input.id = id;
      input.required = true;
      input.maxLength = 500;
      var remove = document.createElement("button");
      remove.type = "submit";
      remove.className = "btn btn-danger-quiet";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove " + name);
      form.appendChild(label);
      form.appendChild(input);
      form.appendChild(remove);
      // Spaces alone pass "required" and would send nothing: say so where the reason is typed.
      input.addEventListener("input", function () { input.setCustomValidity(""); });
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var reason = input.value.trim();
        if (!reason) {
          input.setCustomValidity("Please give a reason for removing " + name + ".");
          input.reportValidity();
          return;
        }
        send({ type: "remove", peer: peer, reason: reason });
      });
      disclosure.appendChild(summary);
      disclosure.appendChild(form);
      li.appendChild(mute);
      li.appendChild(disclosure);
    }
    $("room-people").appendChild(li);
    return li;
  }

  function createPeer(peer, name, initiator) {
    var existing = state.peers.get(peer);
    if (existing) return existing;
    state.gone.delete(peer);
    var entry = { pc: null, name: name, tile: tileFor(peer, name), person: personFor(peer, name),
                  check: null, timer: null };
    state.peers.set(peer, entry);
    connectTo(peer, entry, initiator);
    return entry;
  }

  // A fresh RTCPeerConnection for this peer, in place of any earlier one; the tile stays.
  function connectTo(peer, entry, initiator) {
    if (entry.pc) entry.pc.close();
    clearTimeout(entry.timer);
    entry.check = null;
    var pc = new RTCPeerConnection({ iceServers: state.ice });
    entry.pc = pc;
    if (state.stream) {
      state.stream.getTracks().forEach(function (track) { pc.addTrack(track, state.stream); });
    } else {
      pc.addTransceiver("audio", { direction: "recvonly" });
      pc.addTransceiver("video", { direction: "recvonly" });
    }
    pc.onicecandidate = function (event) {
      if (event.candidate) send({ type: "signal", to: peer, data: { candidate: event.candidate.toJSON() } });
    };
    pc.ontrack = function (event) {
      var video = entry.tile.querySelector("video");
      if (video.srcObject !== event.streams[0]) video.srcObject = event.streams[0];
    };
    pc.onconnectionstatechange = function () { if (entry.pc === pc) watch(peer, entry); };
    if (initiator) {
      pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); })
        .then(function () { send({ type: "signal", to: peer, data: { sdp: pc.localDescription.toJSON() } }); })
        .catch(function () { /* closed meanwhile */ });
    }
  }

  /* --- a peer that has gone quiet ------------------------------------------------------- */

  function watch(peer, entry) {
    var now = entry.pc.connectionState;
    if (now === "connected") {
      clearTimeout(entry.timer);
      entry.check = null;
      return;
    }
    if (now !== "disconnected" && now !== "failed") return;
    if (!entry.check) {
      // Ask at once, so the answer is in by the time the grace period is over.
      entry.check = { asked: Date.now(), answered: false };
      send({ type: "signal", to: peer, data: { ping: true } });
      // And to this page itself: its echo proves the socket still works, so that silence from
      // the peer means the peer, not this page's own network.
      send({ type: "signal", to: state.peer, data: { ping: true } });
    }
    clearTimeout(entry.timer);
    // A failed connection will not recover by itself: decide as soon as the answer is due.
    var wait = now === "failed" ? Math.max(0, entry.check.asked + ANSWER_MS - Date.now()) : GRACE_MS;
    entry.timer = setTimeout(function () { decide(peer, entry); }, wait);
  }

  // Look at the connection again after ``ms``, unless the peer has left or started afresh.
  function watchAgain(peer, entry, ms) {
    entry.timer = setTimeout(function () { if (state.peers.get(peer) === entry) watch(peer, entry); }, ms);
  }

  function decide(peer, entry) {
    if (state.peers.get(peer) !== entry || state.done) return;
    var now = entry.pc.connectionState;
    if (now !== "disconnected" && now !== "failed") return;
    if (entry.check && !entry.check.answered && state.heard < entry.check.asked) {
      // Nothing has come back over the socket either: this page may be the one cut off, and
      // the socket's own closing will say so. Ask again rather than drop everyone.
      entry.check = null;
      watchAgain(peer, entry, ANSWER_MS);
      return;
    }
    if (!entry.check || !entry.check.answered) {
      dropPeer(peer, entry.name + "'s connection was lost, so they're no longer shown. " +
        "If they come back, you'll see them again.");
      return;
    }
    // Still in the room, but the media path between us broke: start a new connection. The
    // peer that makes offers does it; the other waits for that offer, and looks again later.
    if (state.peer < peer) {
      connectTo(peer, entry, true);
    } else {
      send({ type: "signal", to: peer, data: { renew: true } });
      entry.check = null;
      watchAgain(peer, entry, GRACE_MS);
    }
  }

  // The other side of a broken connection asks for a new one, which this side offers.
  function renew(peer, name) {
    if (state.peer > peer) return;
    var entry = state.peers.get(peer);
    if (!entry) { createPeer(peer, name, true); return; }
    var now = entry.pc.connectionState;
    // However it looks from here, it is broken for them; one already being made is left to finish.
    if (now !== "new" && now !== "connecting") connectTo(peer, entry, true);
  }

  function dropPeer(peer, news) {
    var entry = state.peers.get(peer);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.pc.close();
    entry.tile.remove();
    entry.person.remove();
    state.peers.delete(peer);
    // Whatever it sent before it went (a late candidate, say) must not bring its tile back;
    // only a new offer from it does.
    state.gone.add(peer);
    if (news) announce(news);
  }

  /* Exactly one side of each pair makes the offer (the smaller peer id), or two offers cross
     ("glare") and neither connection completes. Whoever hears that someone joined says hello
     back, so both sides learn of each other whatever order the messages arrive in. */
  function meet(peer, name, sayHello) {
    if (sayHello) send({ type: "signal", to: peer, data: { hello: true } });
    if (state.peer < peer && !state.peers.has(peer)) createPeer(peer, name, true);
  }

  function onSignal(message) {
    var data = message.data || {};
    if (message.from === state.peer) return;  // this page's own echo: it has done its work
    if (data.ping) { send({ type: "signal", to: message.from, data: { pong: true } }); return; }
    if (data.pong) {
      var asked = state.peers.get(message.from);
      if (asked && asked.check) asked.check.answered = true;
      return;
    }
    if (data.hello) { meet(message.from, message.name, false); return; }
    if (data.renew) { renew(message.from, message.name); return; }
    var offer = data.sdp && typeof data.sdp === "object" && data.sdp.type === "offer";
    if (state.gone.has(message.from) && !offer) return;
    var known = state.peers.get(message.from);
    // Offers come only from the peer that makes them, once per connection: another one means
    // they have started afresh, so this side does too.
    if (known && offer && known.pc.remoteDescription) connectTo(message.from, known, false);
    var entry = createPeer(message.from, message.name, false);
    var pc = entry.pc;
    if (data.sdp && typeof data.sdp === "object") {
      pc.setRemoteDescription(data.sdp).then(function () {
        if (data.sdp.type === "offer") {
          return pc.createAnswer().then(function (answer) { return pc.setLocalDescription(answer); })
            .then(function () { send({ type: "signal", to: message.from, data: { sdp: pc.localDescription.toJSON() } }); });
        }
      }).catch(function () { /* a stale description: the next offer repairs it */ });
    } else if (data.candidate && typeof data.candidate === "object") {
      pc.addIceCandidate(data.candidate).catch(function () {});
    }
  }

  /* --- waiting room (facilitators) -------------------------------------------------------- */

  // Said at the top of the room too, where a facilitator sees it without scrolling.
  function waitingChanged() {
    var list = $("room-waiting-list");
    if (!list) return;
    var count = list.children.length;
    $("room-waiting-empty").hidden = count > 0;
    $("room-waiting-alert").hidden = count === 0;
    $("room-waiting-count").textContent = count === 1
      ? waitingWords(list.firstElementChild.getAttribute("data-name"))
      : count + " people are waiting to be let in.";
  }

  function addWaiting(peer, name) {
    var list = $("room-waiting-list");
    if (!list || list.querySelector('[data-peer="' + peer + '"]')) return;
    var li = document.createElement("li");
    li.setAttribute("data-peer", peer);
    li.setAttribute("data-name", name);
    var who = document.createElement("span");
    who.textContent = name + " is waiting ";
    var admit = document.createElement("button");
    admit.type = "button";
    admit.className = "btn btn-primary";
    admit.textContent = "Let in";
    // The name starts with the words on the button, so saying them (voice control) finds it.
    admit.setAttribute("aria-label", "Let in " + name);
    admit.addEventListener("click", function () { send({ type: "admit", peer: peer }); });
    li.appendChild(who);
    li.appendChild(admit);
    list.appendChild(li);
    waitingChanged();
    announce(waitingWords(name));
  }

  function waitingWords(name) { return name + " is waiting to be let in."; }

  function removeWaiting(peer) {
    var list = $("room-waiting-list");
    var li = list && list.querySelector('[data-peer="' + peer + '"]');
    if (li) {
      // Once they are let in (or gone), the news no longer says they wait.
      if ($("room-news").textContent === waitingWords(li.getAttribute("data-name"))) announce("");
      li.remove();
    }
    waitingChanged();
  }

  /* The practice changed who leads the group, and this person no longer does: the controls
     for leading the meeting go from the page (the server already refuses them). Taken out of
     the page rather than hidden, so that neither a keyboard nor a screen reader finds them. */
  function stepDown(text) {
    if (!isFacilitator) return;
    isFacilitator = false;
    var focused = document.activeElement;
    var controls = $("room-leave").parentNode;
    // The hand button waits behind More for a leader; a member has it in the row.
    if ($("room-hand")) controls.insertBefore($("room-hand"), $("room-leave"));
    ["room-more", "room-more-controls", "room-waiting-alert", "room-waiting-panel"].forEach(function (id) {
      var el = $(id);
      if (el) el.remove();
    });
    Array.prototype.forEach.call(root.querySelectorAll(".room-lead-only"), function (el) { el.remove(); });
    // Focus that was on a control now gone would be lost to the top of the page.
    if (focused && focused !== document.body && focused !== document.activeElement) {
      (document.body.contains(focused) ? focused : $("room-mic")).focus();
    }
    setStatus(text || "You no longer lead this group, so the controls for leading this meeting have gone.");
  }

  /* --- chat -------------------------------------------------------------------------------- */

  function addChat(name, text, at, mine) {
    var li = document.createElement("li");
    var who = document.createElement("strong");
    who.textContent = name + ": ";
    var body = document.createElement("span");
    body.textContent = text;
    li.appendChild(who);
    li.appendChild(body);
    var when = at ? new Date(at) : null;
    if (when && !isNaN(when.getTime())) {
      // The server's time of sending, on the viewer's own clock; after the text, so a screen
      // reader hears who and what first.
      var time = document.createElement("time");
      time.className = "room-chat-time";
      time.dateTime = at;
      time.textContent = clock(when);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(time);
    }
    var log = $("room-chat-log");
    // Follow the conversation, unless the reader has scrolled back to read something earlier.
    var following = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
    log.appendChild(li);
    if (following || mine) log.scrollTop = log.scrollHeight;
  }

  // "7:05 pm", as times are written everywhere else on the site (schedule.clock_text).
  function clock(when) {
    var hours = when.getHours();
    var minutes = when.getMinutes();
    return (hours % 12 || 12) + ":" + (minutes < 10 ? "0" : "") + minutes + (hours < 12 ? " am" : " pm");
  }

  /* --- the socket -------------------------------------------------------------------------- */

  function finish(text) {
    state.done = true;
    setStatus(text);
    state.peers.forEach(function (_entry, peer) { dropPeer(peer); });
    if (state.stream) state.stream.getTracks().forEach(function (track) { track.stop(); });
    root.classList.add("room-closed");
  }

  function handle(message) {
    switch (message.type) {
      case "welcome":
        state.peer = message.peer;
        break;
      case "waiting":
        $("room-waiting").hidden = false;
        setStatus("Waiting for a " + leader + " to let you in.");
        break;
      case "admitted":
        state.admitted = true;
        state.retry = 0;
        // STUN and this person's own TURN credentials, given only to those let in.
        state.ice = message.ice_servers || [];
        $("room-waiting").hidden = true;
        setStatus("You're in the meeting.");
        send({ type: "media", audio: state.audio, video: state.video });
        break;
      case "joined":
        meet(message.peer, message.name, true);
        break;
      case "left": {
        var leaving = state.peers.get(message.peer);
        if (leaving) dropPeer(message.peer, leaving.name + " left the meeting.");
        break;
      }
      case "signal":
        onSignal(message);
        break;
      case "chat": {
        var mine = message.from === state.peer;
        addChat(mine ? "You" : message.name, message.text, message.at, mine);
        break;
      }
      case "hand": {
        var entry = state.peers.get(message.peer);
        if (entry) entry.person.querySelector(".room-hand").hidden = !message.up;
        break;
      }
      case "media": {
        var tile = state.peers.get(message.peer);
        if (tile) tile.tile.classList.toggle("room-tile-muted", !message.audio);
        break;
      }
      case "waiting_peer":
        addWaiting(message.peer, message.name);
        break;
      case "waiting_gone":
        removeWaiting(message.peer);
        break;
      case "role":
        if (message.facilitator === false) stepDown(message.message);
        break;
      case "mute_request":
        setStatus("The " + leader + " asks you to mute your microphone. Use the Mute button below.");
        $("room-mic").focus();
        break;
      case "removed":
        finish({
          left: "You've left this group, so this meeting has closed for you. Thank you for being part of it.",
          place_ended: "Your place in this group has ended, so this meeting has closed for you. If you'd like to talk about it, or about other groups, please contact the practice.",
          location: "You said you're somewhere this group's clinician can't see you, so the meeting has closed for you. If you're somewhere else now, go back to the meeting page and join again.",
          away: "The " + leader + " has recorded you as not at this meeting, so it has closed for you. If you are here, go back to the meeting page and join again.",
          cancelled: "This meeting has been cancelled, so it has closed. The meeting page shows the group's other meetings.",
          moved: "This meeting has been moved to another time, so it has closed for now. The meeting page shows the new time.",
          signed_out: "You've signed out, so the meeting has closed here. Sign in again to come back to it.",
          not_leading: "The practice has changed who leads this group, so the meeting has closed for you. If you think this is a mistake, please contact the practice."
        }[message.reason] || "You've been removed from this meeting. If you think this is a mistake, please contact the practice.");
        break;
      case "ended":
        finish("The meeting has ended. Thank you for being here.");
        break;
      case "replaced":
        finish(ELSEWHERE);
        break;
      case "error":
        setStatus(message.message);
        break;
    }
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws/meetings/" + meetingId + "/");
    state.ws = ws;
    ws.onopen = function () { setStatus("Connected."); };
    ws.onmessage = function (event) {
      var message;
      state.heard = Date.now();
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message && typeof message.type === "string") handle(message);
    };
    ws.onclose = function (event) {
      if (state.done) return;
      if (event.code === 4403) { finish("You can't be in this meeting right now."); return; }
      if (event.code === 4000) { finish("The meeting has ended."); return; }
      // Reconnecting here would close the newer tab in turn, and the two would take turns for ever.
      if (event.code === 4409) { finish(ELSEWHERE); return; }
      // A dropped network: start again with a fresh set of connections.
      state.peers.forEach(function (_entry, peer) { dropPeer(peer); });
      state.gone.clear();
      state.admitted = false;
      state.retry = Math.min(state.retry + 1, 6);
      setStatus("Connection lost. Reconnecting…");
      setTimeout(connect, 500 * Math.pow(2, state.retry - 1));
    };
  }

  /* --- controls ---------------------------------------------------------------------------- */

  // The label alone carries the state: a pressed state on top would contradict it.
  function toggle(button, on, onText, offText) {
    button.textContent = on ? onText : offText;
  }

  $("room-mic").addEventListener("click", function () {
    state.audio = !state.audio;
    if (state.stream) state.stream.getAudioTracks().forEach(function (t) { t.enabled = state.audio; });
    toggle(this, state.audio, "Mute", "Unmute");
    send({ type: "media", audio: state.audio, video: state.video });
  });
  $("room-cam").addEventListener("click", function () {
    state.video = !state.video;
    if (state.stream) state.stream.getVideoTracks().forEach(function (t) { t.enabled = state.video; });
    toggle(this, state.video, "Turn camera off", "Turn camera on");
    send({ type: "media", audio: state.audio, video: state.video });
  });
  $("room-hand").addEventListener("click", function () {
    state.hand = !state.hand;
    this.textContent = state.hand ? "Lower hand" : "Raise hand";
    send({ type: "hand", up: state.hand });
  });
  $("room-leave").addEventListener("click", function () {
    send({ type: "leave" });
    finish("You left the meeting.");
    window.location.href = root.getAttribute("data-leave-url");
  });
  if ($("room-end")) {
    $("room-end").addEventListener("click", function () {
      // Ending is for good: nobody, facilitators included, can come back into this meeting.
      if (window.confirm("End the meeting for everyone? Nobody will be able to come back in.")) {
        send({ type: "end" });
      }
    });
  }
  /* A facilitator's less-used controls, behind More on a phone. Escape, a tap elsewhere or
     moving on with Tab puts them away again, so they never stay over the videos unasked. */
  if ($("room-more")) {
    var more = $("room-more");
    var group = more.parentNode;
    var showMore = function (open) { more.setAttribute("aria-expanded", open ? "true" : "false"); };
    var moreShown = function () { return more.getAttribute("aria-expanded") === "true"; };
    more.addEventListener("click", function () { showMore(!moreShown()); });
    group.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && moreShown()) {
        showMore(false);
        more.focus();
      }
    });
    group.addEventListener("focusout", function (event) {
      // No relatedTarget: focus left the page (a confirm dialog), not the group.
      if (event.relatedTarget && !group.contains(event.relatedTarget)) showMore(false);
    });
    document.addEventListener("click", function (event) {
      if (!group.contains(event.target)) showMore(false);
    });
  }
  if ($("room-admit-all")) {
    $("room-admit-all").addEventListener("click", function () { send({ type: "admit_all" }); });
  }
  $("room-chat-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("room-chat-text");
    var text = input.value.trim();
    if (text) send({ type: "chat", text: text });
    input.value = "";
  });

  /* --- connection quality hint ------------------------------------------------------------- */

  function quality() {
    var checks = [];
    state.peers.forEach(function (entry) { checks.push(entry.pc.getStats()); });
    if (!checks.length) { $("room-quality").textContent = ""; return; }
    Promise.all(checks).then(function (reports) {
      var lost = 0, received = 0, rtt = 0, pairs = 0;
      reports.forEach(function (report) {
        report.forEach(function (s) {
          if (s.type === "inbound-rtp") { lost += s.packetsLost || 0; received += s.packetsReceived || 0; }
          if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined) {
            rtt += s.currentRoundTripTime; pairs += 1;
          }
        });
      });
      var loss = received ? lost / (lost + received) : 0;
      var delay = pairs ? rtt / pairs : 0;
      var label = loss > 0.08 || delay > 0.5 ? "poor" : loss > 0.02 || delay > 0.25 ? "fair" : "good";
      $("room-quality").textContent = "Connection: " + label;
    });
  }
  setInterval(quality, 5000);
  setInterval(function () { if (state.admitted) send({ type: "alive" }); }, ALIVE_MS);

  /* Figures for tests and troubleshooting: bytes received from each peer so far. */
  window.circlecareRoom = {
    state: state,
    waits: { grace: GRACE_MS, answer: ANSWER_MS, alive: ALIVE_MS },
    inboundBytes: function () {
      var out = {};
      var jobs = [];
      state.peers.forEach(function (entry, peer) {
        jobs.push(entry.pc.getStats().then(function (report) {
          var audio = 0, video = 0;
          report.forEach(function (s) {
            if (s.type === "inbound-rtp") {
              if (s.kind === "audio") audio += s.bytesReceived || 0;
              if (s.kind === "video") video += s.bytesReceived || 0;
            }
          });
          out[entry.name] = { audio: audio, video: video };
        }));
      });
      return Promise.all(jobs).then(function () { return out; });
    }
  };

  startMedia().then(connect);
})();
