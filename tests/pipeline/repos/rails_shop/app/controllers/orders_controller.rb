class OrdersController < ApplicationController
  def index
    @orders = Order.where(customer_email: params[:email]).order(created_at: :desc)
  end
end
