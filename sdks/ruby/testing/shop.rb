# frozen_string_literal: true

# A small shop served by Rack, with the SDK's middleware: the app the SDK's tests and bugstack's live test
# run. Each failing route fails in a method of this file, so its frames are the app's own.
module Shop
  # Charging a card failed; raised with the lower-level error as its cause.
  class PaymentError < StandardError; end

  PRICES = { "7" => [1200, 800, 400] }.freeze

  module_function

  # The Rack app.
  def call(env)
    case env["PATH_INFO"]
    when "/health" then [200, { "Content-Type" => "text/plain" }, ["ok"]]
    when "/cart" then cart
    when %r{\A/orders/(\d+)/pay\z} then pay(Regexp.last_match(1))
    when "/rescued" then rescued(env)
    else [404, { "Content-Type" => "text/plain" }, ["not found"]]
    end
  end

  def cart
    [200, { "Content-Type" => "text/plain" }, ["average #{average_price([])}"]]
  end

  def average_price(prices)
    prices.sum / prices.length
  end

  def pay(order_id)
    charge(order_id)
    [200, { "Content-Type" => "text/plain" }, ["paid"]]
  end

  def charge(order_id)
    PRICES.fetch(order_id).sum
    gateway_reply = PRICES.fetch("card-#{order_id}")
    [gateway_reply]
  rescue KeyError
    raise PaymentError, "card declined for order #{order_id}"
  end

  # An error the app handles itself: it answers 500 and leaves the exception where Rack apps do.
  def rescued(env)
    load_inventory
  rescue IOError => e
    env["rack.exception"] = e
    [500, { "Content-Type" => "text/plain" }, ["inventory unavailable"]]
  end

  def load_inventory
    raise IOError, "inventory feed closed"
  end
end
