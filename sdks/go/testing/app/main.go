// Command shop is a small net/http app set up with the bugstack SDK as its README says: a route that
// panics and a route that reports an error it handles. It listens on 127.0.0.1 at the port in PORT (any
// free port when unset) and prints "listening on <port>" once it does; SIGTERM or SIGINT stop it after
// queued events were sent.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	bugstack "bugstack.dev/sdk/go"
)

var errPaymentDeclined = errors.New("payment declined")

// orderTotal has the bug the panicking route hits: an order without items.
func orderTotal(items []int) int {
	total := 0
	for index := 0; index < 3; index++ {
		total += items[index]
	}
	return total
}

func showOrder(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "total: %d\n", orderTotal(nil))
}

func chargeCard(cart string) error {
	return bugstack.Errorf("charging cart %s: %w", cart, errPaymentDeclined)
}

func checkout(w http.ResponseWriter, r *http.Request) {
	cart := strings.TrimPrefix(r.URL.Path, "/checkout/")
	if err := chargeCard(cart); err != nil {
		bugstack.CaptureRequestError(bugstack.WithRoute(r, "/checkout/{cart}"), err)
		http.Error(w, "payment failed", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "paid")
}

func routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/orders/", showOrder)
	mux.HandleFunc("/checkout/", checkout)
	return bugstack.Middleware(mux)
}

func main() {
	if err := bugstack.Init(bugstack.Options{}); err != nil { // reads BUGSTACK_DSN
		log.Fatal(err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		log.Fatal(err)
	}
	server := &http.Server{Handler: routes(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := server.Serve(listener); err != nil && err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	fmt.Printf("listening on %d\n", listener.Addr().(*net.TCPAddr).Port)

	stop, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	<-stop.Done()
	_ = server.Shutdown(context.Background())
	bugstack.Close(2 * time.Second)
}
