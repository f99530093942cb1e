// The board's sync rules (static/board/live.js), run by Node's test runner: `node --test tests/js/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { LiveSync } from "../../static/board/live.js";

class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.closed = false;
    FakeSocket.all.push(this);
  }
  static get last() {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }
  open(seq = {}) {
    this.onopen?.();
    this.send({ type: "hello", seq });
  }
  send(data) {
    this.onmessage?.({ data: JSON.stringify(data) });
  }
  close() {
    this.closed = true;
    this.onclose?.();
  }
}

class FakeTimers {
  constructor() {
    this.pending = new Map();
    this.next = 1;
  }
  setTimeout(fn, ms) {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clearTimeout(id) {
    this.pending.delete(id);
  }
  runAll() {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const { fn } of due) fn();
  }
}

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function caseEvent(seq, id = seq, depot = 1) {
  return { type: "case", depot_id: depot, seq, case: { id, version: seq, state: "escalated" } };
}

function board() {
  FakeSocket.all = [];
  const applied = [];
  const snapshots = [];
  const statuses = [];
  const loads = [];
  const timers = new FakeTimers();
  const sync = new LiveSync({
    url: "ws://test/ws/board/",
    loadSnapshot: () => {
      const load = deferred();
      loads.push(load);
      return load.promise;
    },
    onSnapshot: (snapshot) => snapshots.push(snapshot),
    onEvent: (event) => applied.push(event.seq),
    onStatus: (status) => statuses.push(status),
    WebSocketImpl: FakeSocket,
    timers,
    random: () => 0.5,
  });
  return { sync, applied, snapshots, statuses, loads, timers };
}

test("it applies the next events in order and ignores what the snapshot already has", async () => {
  const { sync, applied, loads, statuses } = board();
  sync.start();
  FakeSocket.last.open({ 1: 4 });
  loads[0].resolve({ seq: { 1: 4 }, cases: [] });
  await tick();
  for (const seq of [3, 4, 5, 6, 6]) FakeSocket.last.send(caseEvent(seq));
  assert.deepEqual(applied, [5, 6]);
  assert.equal(statuses.at(-1), "live");
  assert.equal(loads.length, 1);
});

test("it holds events back while the snapshot loads and applies only the newer ones", async () => {
  const { sync, applied, loads } = board();
  sync.start();
  FakeSocket.last.open({ 1: 10 });
  for (const seq of [12, 11, 13]) FakeSocket.last.send(caseEvent(seq));
  assert.deepEqual(applied, []);
  loads[0].resolve({ seq: { 1: 11 }, cases: [] }); // taken after 11, before 12
  await tick();
  assert.deepEqual(applied, [12, 13]);
});

test("it takes a new snapshot when it sees a gap", async () => {
  const { sync, applied, loads, snapshots } = board();
  sync.start();
  FakeSocket.last.open({ 1: 1 });
  loads[0].resolve({ seq: { 1: 1 }, cases: [] });
  await tick();
  FakeSocket.last.send(caseEvent(2));
  FakeSocket.last.send(caseEvent(4)); // 3 was lost
  assert.equal(loads.length, 2);
  FakeSocket.last.send(caseEvent(5));
  loads[1].resolve({ seq: { 1: 4 }, cases: [{ id: 3 }] });
  await tick();
  assert.deepEqual(applied, [2, 5]);
  assert.equal(snapshots.length, 2);
});

test("it reconnects with a snapshot after the socket drops", async () => {
  const { sync, applied, loads, statuses, timers } = board();
  sync.start();
  FakeSocket.last.open({ 1: 1 });
  loads[0].resolve({ seq: { 1: 1 }, cases: [] });
  await tick();
  FakeSocket.last.close();
  assert.equal(statuses.at(-1), "offline");
  timers.runAll(); // the backoff elapses
  assert.equal(FakeSocket.all.length, 2);
  const socket = FakeSocket.last;
  socket.open({ 1: 3 });
  socket.send(caseEvent(4));
  assert.equal(loads.length, 2);
  loads[1].resolve({ seq: { 1: 3 }, cases: [] });
  await tick();
  assert.deepEqual(applied, [4]);
  assert.equal(statuses.at(-1), "live");
});

test("a snapshot asked for again while loading is replaced by the newer one", async () => {
  const { sync, loads, snapshots } = board();
  sync.start();
  FakeSocket.last.open({});
  sync.resync(); // the filters changed
  loads[0].resolve({ seq: {}, cases: ["old filters"] });
  await tick();
  assert.equal(snapshots.length, 0);
  loads[1].resolve({ seq: {}, cases: ["new filters"] });
  await tick();
  assert.deepEqual(snapshots.map((snapshot) => snapshot.cases[0]), ["new filters"]);
});

test("it retries a snapshot that failed and keeps the events meanwhile", async () => {
  const { sync, applied, loads, timers, statuses } = board();
  sync.start();
  FakeSocket.last.open({ 1: 0 });
  loads[0].reject(new Error("502"));
  await tick();
  assert.equal(statuses.at(-1), "error");
  FakeSocket.last.send(caseEvent(1));
  timers.runAll();
  loads[1].resolve({ seq: { 1: 0 }, cases: [] });
  await tick();
  assert.deepEqual(applied, [1]);
});

test("it says live only once a snapshot taken after the server's greeting is in", async () => {
  const { sync, loads, statuses } = board();
  sync.start();
  sync.resync(); // the page's first paint, before the socket is up
  loads[0].resolve({ seq: { 1: 0 }, cases: [] });
  await tick();
  assert.notEqual(statuses.at(-1), "live");
  FakeSocket.last.open({ 1: 0 });
  assert.equal(loads.length, 2);
  loads[1].resolve({ seq: { 1: 0 }, cases: [] });
  await tick();
  assert.equal(statuses.at(-1), "live");
});
