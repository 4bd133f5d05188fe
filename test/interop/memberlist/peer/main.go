// mlpeer: a hashicorp/memberlist v0.1.7 member (the version MetalLB v0.9-v0.12 pins) for interop
// tests and benchmarks of lib/memberlist. It is a test peer, not part of the product.
//
// Member mode (default): runs -count members (names -name, -name-1, ... on ports -port, -port+1, ...),
// configured the way MetalLB configures memberlist (DefaultLANConfig + Name, BindAddr, BindPort,
// SecretKey derived from -secret exactly as MetalLB derives it). Prints one JSON object per line on
// stdout (events carry "t", Unix milliseconds) and reads commands from stdin, one per line:
//   members            -> {"event":"members","self":...,"members":[{"name","addr","port"}]}
//   join <a,b,...>     -> {"event":"joined","self":...,"count":n,"error":"..."}
//   leave <ms>         -> {"event":"left","self":...,"error":"..."} (graceful leave, then shutdown)
//   stats              -> {"event":"stats","self":...,"decrypt_failed":n,"invalid_msg":n}
//   exit               -> shuts everything down without leaving and exits
// Events: ready, join, leave (with "state": "dead" or "left" as the library recorded it, "failed":
// state == "dead", "declared": this member's own suspicion timer fired), update.
//
// Vectors mode (-vectors FILE): runs three members in one process over a transport wrapper that
// records every datagram and stream message the library writes, walks them through join, gossip,
// a crash (probe, indirect probe, nack, suspect, dead) and a graceful leave, with and without
// encryption/compression, and writes the captures as JSON for the TypeScript codec tests.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

var out = json.NewEncoder(os.Stdout)
var outMu sync.Mutex

func emit(v map[string]interface{}) {
	v["t"] = time.Now().UnixMilli()
	outMu.Lock()
	defer outMu.Unlock()
	_ = out.Encode(v)
}

// metallbKey derives the AES key the way MetalLB v0.9-v0.13 does: the first 16 bytes of
// SHA-256's append-digest of an empty hash onto the secret bytes.
func metallbKey(secret string) []byte {
	if secret == "" {
		return nil
	}
	return sha256.New().Sum([]byte(secret))[:16]
}

// profile applies a timer profile to a DefaultLANConfig.
func profile(c *memberlist.Config, name string) {
	switch name {
	case "lan":
	case "fast":
		c.ProbeInterval = 200 * time.Millisecond
		c.ProbeTimeout = 100 * time.Millisecond
		c.GossipInterval = 50 * time.Millisecond
		c.PushPullInterval = 5 * time.Second
		c.GossipToTheDeadTime = 5 * time.Second
		c.TCPTimeout = 2 * time.Second
	default:
		log.Fatalf("unknown profile %q (lan, fast)", name)
	}
}

// logWatcher receives the library's log lines for one member, counts what the tests look for,
// and remembers which nodes this member declared failed.
type logWatcher struct {
	self          string
	verbose       bool
	decryptFailed int64
	invalidMsg    int64
	mu            sync.Mutex
	failed        map[string]bool
}

var markingFailed = regexp.MustCompile(`Marking (\S+) as failed`)

func (w *logWatcher) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	if strings.Contains(line, "Decrypt packet failed") || strings.Contains(line, "failed to receive") {
		atomic.AddInt64(&w.decryptFailed, 1)
	}
	if strings.Contains(line, "Failed to decode") || strings.Contains(line, "invalid msgType") ||
		strings.Contains(line, "not supported") || strings.Contains(line, "invalid checksum") {
		atomic.AddInt64(&w.invalidMsg, 1)
	}
	if m := markingFailed.FindStringSubmatch(line); m != nil {
		w.mu.Lock()
		w.failed[m[1]] = true
		w.mu.Unlock()
	}
	if w.verbose {
		emit(map[string]interface{}{"event": "log", "self": w.self, "line": line})
	}
	return len(p), nil
}

func (w *logWatcher) takeFailed(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.failed[name]
	delete(w.failed, name)
	return f
}

type events struct {
	self string
	w    *logWatcher
	ml   *memberlist.Memberlist
}

// nodeState reads the library's own state for a node ("alive", "suspect", "dead", "left").
// v0.1.7's Node has no State field; the events are delivered while the library holds its node
// lock, on the goroutine that changed the state, so reading the unexported node map here is safe.
func (e *events) nodeState(name string) string {
	if e.ml == nil {
		return "unknown"
	}
	nm := reflect.ValueOf(e.ml).Elem().FieldByName("nodeMap")
	st := nm.MapIndex(reflect.ValueOf(name))
	if !st.IsValid() || st.IsNil() {
		return "unknown"
	}
	switch st.Elem().FieldByName("State").Int() {
	case 0:
		return "alive"
	case 1:
		return "suspect"
	case 2:
		return "dead"
	case 3:
		return "left"
	}
	return "unknown"
}

func nodeJSON(n *memberlist.Node) map[string]interface{} {
	return map[string]interface{}{"name": n.Name, "addr": n.Addr.String(), "port": n.Port}
}

func (e *events) NotifyJoin(n *memberlist.Node) {
	emit(map[string]interface{}{"event": "join", "self": e.self, "node": nodeJSON(n)})
}
func (e *events) NotifyLeave(n *memberlist.Node) {
	// "failed": the library recorded the node as dead (a failure, detected here or learnt by
	// gossip), not as left (graceful leave). "declared": this member's own suspicion timer fired.
	state := e.nodeState(n.Name)
	emit(map[string]interface{}{"event": "leave", "self": e.self, "node": nodeJSON(n), "state": state,
		"failed": state == "dead", "declared": e.w.takeFailed(n.Name)})
}
func (e *events) NotifyUpdate(n *memberlist.Node) {
	emit(map[string]interface{}{"event": "update", "self": e.self, "node": nodeJSON(n)})
}

type member struct {
	name string
	ml   *memberlist.Memberlist
	w    *logWatcher
}

func newMember(name, bind string, port int, secret, prof string, verbose bool, transport memberlist.Transport, compress bool) (*member, error) {
	c := memberlist.DefaultLANConfig()
	profile(c, prof)
	c.Name = name
	c.BindAddr = bind
	c.BindPort = port
	c.AdvertisePort = port
	c.SecretKey = metallbKey(secret)
	c.EnableCompression = compress
	w := &logWatcher{self: name, verbose: verbose, failed: map[string]bool{}}
	c.LogOutput = w
	ev := &events{self: name, w: w}
	c.Events = ev
	c.Transport = transport
	ml, err := memberlist.Create(c)
	if err != nil {
		return nil, err
	}
	ev.ml = ml
	return &member{name: name, ml: ml, w: w}, nil
}

func main() {
	name := flag.String("name", "go-peer", "member name (with -count > 1: name, name-1, name-2, ...)")
	bind := flag.String("bind", "127.0.0.1", "bind address")
	port := flag.Int("port", 7946, "bind port (member i uses port+i)")
	secret := flag.String("secret", "", "MetalLB memberlist secret (empty: no encryption)")
	prof := flag.String("profile", "lan", "timer profile: lan or fast")
	join := flag.String("join", "", "comma-separated addresses to join at start")
	count := flag.Int("count", 1, "number of members in this process")
	verbose := flag.Bool("verbose", false, "emit the library's log lines as events")
	vectors := flag.String("vectors", "", "write recorded wire captures to this file and exit")
	flag.Parse()

	if *vectors != "" {
		if err := writeVectors(*vectors); err != nil {
			fmt.Fprintln(os.Stderr, "vectors:", err)
			os.Exit(1)
		}
		return
	}

	members := make([]*member, 0, *count)
	for i := 0; i < *count; i++ {
		n := *name
		if i > 0 {
			n = fmt.Sprintf("%s-%d", *name, i)
		}
		m, err := newMember(n, *bind, *port+i, *secret, *prof, *verbose, nil, true)
		if err != nil {
			fmt.Fprintln(os.Stderr, "create:", err)
			os.Exit(1)
		}
		members = append(members, m)
		emit(map[string]interface{}{"event": "ready", "self": n, "addr": *bind, "port": *port + i})
	}
	if *join != "" {
		for _, m := range members {
			cnt, err := m.ml.Join(strings.Split(*join, ","))
			ev := map[string]interface{}{"event": "joined", "self": m.name, "count": cnt}
			if err != nil {
				ev["error"] = err.Error()
			}
			emit(ev)
		}
	}

	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "members":
			for _, m := range members {
				list := []map[string]interface{}{}
				for _, n := range m.ml.Members() {
					list = append(list, nodeJSON(n))
				}
				emit(map[string]interface{}{"event": "members", "self": m.name, "members": list})
			}
		case "stats":
			for _, m := range members {
				emit(map[string]interface{}{"event": "stats", "self": m.name,
					"decrypt_failed": atomic.LoadInt64(&m.w.decryptFailed), "invalid_msg": atomic.LoadInt64(&m.w.invalidMsg)})
			}
		case "join":
			if len(fields) < 2 {
				continue
			}
			for _, m := range members {
				cnt, err := m.ml.Join(strings.Split(fields[1], ","))
				ev := map[string]interface{}{"event": "joined", "self": m.name, "count": cnt}
				if err != nil {
					ev["error"] = err.Error()
				}
				emit(ev)
			}
		case "leave":
			ms := 1000
			if len(fields) > 1 {
				ms, _ = strconv.Atoi(fields[1])
			}
			for _, m := range members {
				err := m.ml.Leave(time.Duration(ms) * time.Millisecond)
				ev := map[string]interface{}{"event": "left", "self": m.name}
				if err != nil {
					ev["error"] = err.Error()
				}
				_ = m.ml.Shutdown()
				emit(ev)
			}
		case "exit":
			for _, m := range members {
				_ = m.ml.Shutdown()
			}
			os.Exit(0)
		}
	}
	// stdin closed: the test harness went away; stop without leaving.
	for _, m := range members {
		_ = m.ml.Shutdown()
	}
}

// ---- vectors mode ----------------------------------------------------------------------------

type capture struct {
	Kind string `json:"kind"` // "udp" or "tcp"
	From string `json:"from"` // member name that wrote it
	To   string `json:"to"`   // destination address (udp) or dialled address / "accepted" (tcp)
	Hex  string `json:"hex"`
}

type recorder struct {
	mu   sync.Mutex
	caps []capture
}

func (r *recorder) add(c capture) {
	r.mu.Lock()
	r.caps = append(r.caps, c)
	r.mu.Unlock()
}

// recordingTransport wraps the library's own NetTransport and records everything written.
type recordingTransport struct {
	*memberlist.NetTransport
	name     string
	rec      *recorder
	streamCh chan net.Conn
}

func newRecordingTransport(name, bind string, port int, rec *recorder) (*recordingTransport, error) {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{bind}, BindPort: port,
		Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		return nil, err
	}
	t := &recordingTransport{NetTransport: nt, name: name, rec: rec, streamCh: make(chan net.Conn)}
	go func() {
		for c := range nt.StreamCh() {
			t.streamCh <- &recordingConn{Conn: c, t: t, to: "accepted"}
		}
	}()
	return t, nil
}

func (t *recordingTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	t.rec.add(capture{Kind: "udp", From: t.name, To: addr, Hex: hex.EncodeToString(b)})
	return t.NetTransport.WriteTo(b, addr)
}

func (t *recordingTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	c, err := t.NetTransport.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, t: t, to: addr}, nil
}

func (t *recordingTransport) StreamCh() <-chan net.Conn { return t.streamCh }

type recordingConn struct {
	net.Conn
	t    *recordingTransport
	to   string
	mu   sync.Mutex
	buf  []byte
	done bool
}

func (c *recordingConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.buf = append(c.buf, b...)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *recordingConn) Close() error {
	c.mu.Lock()
	if !c.done && len(c.buf) > 0 {
		c.t.rec.add(capture{Kind: "tcp", From: c.t.name, To: c.to, Hex: hex.EncodeToString(c.buf)})
	}
	c.done = true
	c.mu.Unlock()
	return c.Conn.Close()
}

type scenario struct {
	Name     string    `json:"name"`
	Secret   string    `json:"secret"`
	KeyHex   string    `json:"key_hex"`
	Compress bool      `json:"compress"`
	Members  []string  `json:"members"`
	Captures []capture `json:"captures"`
}

func runScenario(name, secret string, compress bool, names []string, addrs []string, port int) (*scenario, error) {
	rec := &recorder{}
	ms := []*member{}
	for i, n := range names {
		tr, err := newRecordingTransport(n, addrs[i], port+i, rec)
		if err != nil {
			return nil, err
		}
		m, err := newMember(n, addrs[i], port+i, secret, "fast", false, tr, compress)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	first := fmt.Sprintf("%s:%d", addrs[0], port)
	for _, m := range ms[1:] {
		if _, err := m.ml.Join([]string{first}); err != nil {
			return nil, err
		}
	}
	time.Sleep(2 * time.Second)
	// crash the last member: the others probe it, ask each other for indirect probes (with
	// nacks), suspect it and finally declare it dead.
	_ = ms[len(ms)-1].ml.Shutdown()
	time.Sleep(4 * time.Second)
	// graceful leave of the second member
	_ = ms[1].ml.Leave(2 * time.Second)
	_ = ms[1].ml.Shutdown()
	time.Sleep(1 * time.Second)
	_ = ms[0].ml.Shutdown()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return &scenario{Name: name, Secret: secret, KeyHex: hex.EncodeToString(metallbKey(secret)), Compress: compress,
		Members: names, Captures: rec.caps}, nil
}

func writeVectors(path string) error {
	var all []*scenario
	s, err := runScenario("plain", "", false, []string{"node-a", "node-b", "node-c"},
		[]string{"127.0.0.1", "127.0.0.1", "127.0.0.1"}, 27946)
	if err != nil {
		return err
	}
	all = append(all, s)
	// node names that are IPs make v0.1.7 add CRC frames to every packet
	s, err = runScenario("encrypted-compressed-crc", "AAECAwQFBgcICQoLDA0ODw", true,
		[]string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}, []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}, 28946)
	if err != nil {
		return err
	}
	all = append(all, s)
	b, err := json.MarshalIndent(map[string]interface{}{
		"generator": "test/interop/memberlist/peer (mlpeer -vectors) with github.com/hashicorp/memberlist v0.1.7",
		"scenarios": all}, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
