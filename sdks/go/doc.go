// Package bugstack reports a Go program's errors and panics to bugstack, which turns them into pull
// requests.
//
//	if err := bugstack.Init(bugstack.Options{}); err != nil { // reads BUGSTACK_DSN
//		log.Fatal(err)
//	}
//	defer bugstack.Close(2 * time.Second)
//	http.ListenAndServe(":8080", bugstack.Middleware(mux))
//
// Capturing an error only records it and puts it on a bounded queue; one background goroutine builds the
// frames, reads source lines, redacts and sends, in batches when events pile up. Nothing the SDK does
// blocks the program or panics into it. Events follow bugstack's native protocol v1, platform "go".
package bugstack
