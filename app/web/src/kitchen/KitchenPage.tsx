export default function KitchenPage(props: { restaurantId: string }) {
  return <h1>Kitchen {props.restaurantId}</h1>;
}
