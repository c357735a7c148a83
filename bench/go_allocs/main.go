// Heap allocations per request of Go's net/http client, for comparison with
// nethttp's (tests/alloc): GETs on one kept-alive connection after a warm-up,
// counted with runtime.MemStats (the whole process: the transport's own
// goroutines allocate for the request too).
//
//	go run bench/go_allocs/main.go http://127.0.0.1:PORT/small
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
)

func main() {
	url := os.Args[1]
	c := &http.Client{}
	get := func() {
		r, err := c.Get(url)
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	for i := 0; i < 100; i++ {
		get()
	}
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	const n = 10000
	for i := 0; i < n; i++ {
		get()
	}
	runtime.ReadMemStats(&b)
	fmt.Printf("go %s: %.1f allocations, %.0f bytes per request\n", runtime.Version(), float64(b.Mallocs-a.Mallocs)/n, float64(b.TotalAlloc-a.TotalAlloc)/n)
}
