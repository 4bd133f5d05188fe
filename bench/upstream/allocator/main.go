// Command allocbench drives upstream MetalLB v0.12.1's address allocator
// (go.universe.tf/metallb/internal/allocator) for bench/allocator.ts: one case per run, the
// same workloads as the TypeScript side, and one JSON object on stdout with the figures.
//
// The module path of this program lies under go.universe.tf/metallb/ so that Go lets it import
// the upstream module's internal packages; the upstream source itself comes from the Go module
// proxy and never enters this repository.
//
//	allocbench -case v4-14 -n 10000 -cap 60s
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"syscall"
	"time"

	"go.universe.tf/metallb/internal/allocator"
	"go.universe.tf/metallb/internal/config"
	"go.universe.tf/metallb/internal/ipfamily"
)

type result struct {
	Case      string  `json:"case"`
	Requested int     `json:"requested"`
	Allocated int     `json:"allocated"`
	Capped    bool    `json:"capped"`
	WallS     float64 `json:"wall_s"`
	CPUS      float64 `json:"cpu_s"`
	PerS      float64 `json:"assign_per_s"`
	PerCPUS   float64 `json:"assign_per_cpu_s"`
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	First1kUs float64 `json:"first1k_median_us"`
	Last1kUs  float64 `json:"last1k_median_us"`
	HeapBytes float64 `json:"heap_bytes_per_assignment"`
	MaxRSSKiB int64   `json:"max_rss_kib"`
	GoVersion string  `json:"go"`
}

func mustCIDR(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func median(v []float64) float64 {
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	if len(c) == 0 {
		return 0
	}
	return c[(len(c)-1)/2]
}

func quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	i := int(q*float64(n)+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= n {
		i = n - 1
	}
	return sorted[i]
}

func main() {
	name := flag.String("case", "v4-14", "v4-14 | v6-64 | pools-1000x24")
	n := flag.Int("n", 10000, "assignments to make")
	capD := flag.Duration("cap", 60*time.Second, "stop after this much wall-clock time")
	flag.Parse()

	pools := map[string]*config.Pool{}
	family := ipfamily.IPv4
	switch *name {
	case "v4-14":
		pools["v4"] = &config.Pool{Protocol: config.Layer2, CIDR: []*net.IPNet{mustCIDR("10.0.0.0/14")}, AutoAssign: true}
	case "v6-64":
		family = ipfamily.IPv6
		pools["v6"] = &config.Pool{Protocol: config.Layer2, CIDR: []*net.IPNet{mustCIDR("2001:db8::/64")}, AutoAssign: true}
	case "pools-1000x24":
		for i := 0; i < 1000; i++ {
			pools[fmt.Sprintf("p%d", i)] = &config.Pool{Protocol: config.Layer2, CIDR: []*net.IPNet{mustCIDR(fmt.Sprintf("10.%d.%d.0/24", i/256, i%256))}, AutoAssign: true}
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown case %q\n", *name)
		os.Exit(2)
	}
	keys := make([]string, *n)
	ports := make([][]allocator.Port, *n)
	for i := range keys {
		keys[i] = fmt.Sprintf("default/svc-%d", i)
		ports[i] = []allocator.Port{{Proto: "TCP", Port: 80 + i%3}}
	}
	a := allocator.New()
	if err := a.SetPools(pools); err != nil {
		panic(err)
	}
	runtime.GC()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	lat := make([]float64, 0, *n)
	c0 := cpuSeconds()
	t0 := time.Now()
	deadline := t0.Add(*capD)
	capped := false
	for i := 0; i < *n; i++ {
		s := time.Now()
		if _, err := a.Allocate(keys[i], family, ports[i], "", ""); err != nil {
			panic(fmt.Sprintf("allocation %d: %v", i, err))
		}
		e := time.Now()
		lat = append(lat, float64(e.Sub(s).Nanoseconds())/1000)
		if e.After(deadline) {
			capped = i+1 < *n
			break
		}
	}
	wall := time.Since(t0).Seconds()
	cpu := cpuSeconds() - c0
	runtime.GC()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	done := len(lat)
	s := append([]float64(nil), lat...)
	sort.Float64s(s)
	k := 1000
	if done < k {
		k = done
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	r := result{
		Case: *name, Requested: *n, Allocated: done, Capped: capped, WallS: wall, CPUS: cpu,
		PerS: float64(done) / wall, PerCPUS: float64(done) / cpu,
		P50us: quantile(s, 0.5), P99us: quantile(s, 0.99),
		First1kUs: median(lat[:k]), Last1kUs: median(lat[done-k:]),
		HeapBytes: (float64(ms1.HeapAlloc) - float64(ms0.HeapAlloc)) / float64(done),
		MaxRSSKiB: ru.Maxrss, GoVersion: runtime.Version(),
	}
	// keep the allocator alive until after the heap measurement
	runtime.KeepAlive(a)
	_ = json.NewEncoder(os.Stdout).Encode(r)
}
