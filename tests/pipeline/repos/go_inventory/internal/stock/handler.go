package stock

import (
	"encoding/json"
	"net/http"

	"github.com/acme/inventory/internal/store"
	"github.com/go-chi/chi/v5"
)

type Handler struct {
	db *store.DB
}

func NewHandler(db *store.DB) *Handler { return &Handler{db: db} }

func (h *Handler) Reserve(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Quantity int `json:"quantity"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	left, err := reserve(r.Context(), h.db, chi.URLParam(r, "sku"), body.Quantity)
	if err != nil {
		writeError(w, err)
		return
	}
	json.NewEncoder(w).Encode(map[string]int{"left": left})
}
