package gopool

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks that idle goroutines are reaped: none outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type countTask struct {
	n  *atomic.Int64
	wg *sync.WaitGroup
}

func (t countTask) Run() {
	t.n.Add(1)
	t.wg.Done()
}

type blockTask struct {
	started chan<- struct{}
	release <-chan struct{}
}

func (t blockTask) Run() {
	t.started <- struct{}{}
	<-t.release
}

func TestPoolRunsEveryTask(t *testing.T) {
	var p Pool
	var n atomic.Int64
	var wg sync.WaitGroup
	const tasks = 10000
	wg.Add(tasks)
	for range tasks {
		p.Go(countTask{&n, &wg})
	}
	wg.Wait()
	if n.Load() != tasks {
		t.Fatalf("%d tasks ran", n.Load())
	}
}

// TestPoolBlockingTasks: a task that blocks holds its goroutine only; the
// others run on new ones.
func TestPoolBlockingTasks(t *testing.T) {
	var p Pool
	started := make(chan struct{})
	release := make(chan struct{})
	const blocked = 50
	for range blocked {
		p.Go(blockTask{started, release})
	}
	for range blocked {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("a task did not start while others were blocked")
		}
	}
	close(release)
}

// TestPoolReaps checks that the pool gives its idle goroutines up.
func TestPoolReaps(t *testing.T) {
	var p Pool
	var n atomic.Int64
	var wg sync.WaitGroup
	wg.Add(100)
	for range 100 {
		p.Go(countTask{&n, &wg})
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		idle, reaping := len(p.idle), p.reaping
		p.mu.Unlock()
		if idle == 0 && !reaping {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle goroutines left", idle)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
