export default function GuestPage(props: { restaurantId: string; tableId: string }) {
  return <h1>Table {props.tableId}</h1>;
}
