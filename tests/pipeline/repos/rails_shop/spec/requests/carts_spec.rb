require "rails_helper"

RSpec.describe "Carts", type: :request do
  it "shows the cart total" do
    get "/cart"
    expect(response).to have_http_status(:ok)
  end
end
