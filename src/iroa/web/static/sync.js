// Live progress of one sync run, from GET /api/v1/syncs/{id}/events (Server-Sent Events).
(function () {
  "use strict";
  var section = document.getElementById("sync");
  if (!section || !["queued", "running"].includes(section.dataset.status) || !window.EventSource) {
    return;
  }
  var phase = document.getElementById("sync-phase");
  var bar = document.getElementById("sync-bar");
  var result = document.getElementById("sync-result");
  var steps = document.getElementById("sync-steps");
  var source = new EventSource(section.dataset.events);
  var lastPhase = null;

  source.addEventListener("progress", function (event) {
    var p = JSON.parse(event.data);
    if (p.phase !== lastPhase) {
      var item = document.createElement("li");
      item.textContent = p.phase;
      steps.appendChild(item);
      lastPhase = p.phase;
    }
    var count = p.total ? p.done + " of " + p.total : String(p.done);
    phase.textContent = p.phase + ": " + count;
    steps.lastChild.textContent = p.phase + " (" + count + ")";
    if (p.total) {
      bar.max = p.total;
      bar.value = Math.min(p.done, p.total);
    } else {
      bar.removeAttribute("value");
    }
  });

  source.addEventListener("result", function (event) {
    var run = JSON.parse(event.data);
    source.close();
    bar.max = 1;
    bar.value = 1;
    section.dataset.status = run.status;
    phase.textContent = "Finished";
    result.textContent = "";
    var status = document.createElement("span");
    status.className = "status status-" + run.status;
    status.textContent = run.status;
    result.appendChild(status);
    result.appendChild(document.createTextNode(
      " in " + run.duration_s + " s: " + run.added + " added, " + run.modified +
      " modified, " + run.removed + " removed" + (run.error ? " — " + run.error : "")
    ));
  });

  source.onerror = function () {
    if (["queued", "running"].includes(section.dataset.status)) {
      phase.textContent = "Lost the connection to the server; reload the page to see the run.";
    }
    source.close();
  };
})();
