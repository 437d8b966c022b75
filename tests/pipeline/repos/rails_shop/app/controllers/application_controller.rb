class ApplicationController < ActionController::Base
  def current_currency
    session[:currency] || "EUR"
  end
end
