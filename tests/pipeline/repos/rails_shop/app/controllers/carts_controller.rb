class CartsController < ApplicationController
  # GET /cart
  def show
    @cart = Cart.for_session(session.id)
    @total = PriceFormatter.format(@cart.total, current_currency)
  end
end
