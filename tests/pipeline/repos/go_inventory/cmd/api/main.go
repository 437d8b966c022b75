package main

import (
	"log"
	"net/http"
	"os"

	"github.com/acme/inventory/internal/stock"
	"github.com/acme/inventory/internal/store"
	"github.com/go-chi/chi/v5"
)

func main() {
	db, err := store.Open(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	r := chi.NewRouter()
	r.Post("/items/{sku}/reserve", stock.NewHandler(db).Reserve)
	log.Fatal(http.ListenAndServe(":8080", r))
}
