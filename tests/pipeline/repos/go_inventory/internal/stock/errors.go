package stock

import (
	"errors"
	"net/http"
)

var ErrInsufficientStock = errors.New("insufficient stock")

func writeError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrInsufficientStock) {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	http.Error(w, "internal error", http.StatusInternalServerError)
}
